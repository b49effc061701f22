"""The diffusion process: noise schedules, what the network predicts, the forward process and its loss,
and the samplers."""

from ._labels import CLASSES, NULL_LABEL, NUM_CLASSES
from ._predictions import PREDICTIONS, Prediction
from ._process import Diffusion
from ._samplers import SAMPLERS, SPACINGS, Denoiser, Step, Trajectory
from ._schedules import SCHEDULES

__all__ = ["CLASSES", "NULL_LABEL", "NUM_CLASSES", "PREDICTIONS", "SAMPLERS", "SCHEDULES", "SPACINGS", "Denoiser",
           "Diffusion", "Prediction", "Step", "Trajectory"]
