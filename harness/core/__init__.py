"""The diffusion process: formulations (vp, edm, flow), noise schedules, what the network predicts, the training
objective's weightings and noise-level distributions, and the samplers."""

from . import _edm, _flow, _vp  # noqa: F401  (each registers its formulation)
from ._labels import CLASSES, NULL_LABEL, NUM_CLASSES
from ._objective import LOSS_WEIGHTINGS, NOISE_SAMPLINGS, Objective
from ._predictions import PREDICTIONS, Prediction
from ._process import FORMULATIONS, Diffusion, Network
from ._samplers import SAMPLERS, SPACINGS, Denoiser, Levels, Step, TimeRange, Trajectory, evaluated_times
from ._schedules import SCHEDULES

__all__ = ["CLASSES", "FORMULATIONS", "LOSS_WEIGHTINGS", "NOISE_SAMPLINGS", "NULL_LABEL", "NUM_CLASSES", "PREDICTIONS",
           "SAMPLERS", "SCHEDULES", "SPACINGS", "Denoiser", "Diffusion", "Levels", "Network", "Objective", "Prediction", "Step",
           "TimeRange", "Trajectory", "evaluated_times"]
