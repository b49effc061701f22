"""One run: training, checkpoints, the training log, generation with guidance, sample files and images."""

from ._checkpoint import CHECKPOINT, TrainedModel, build_model, load_checkpoint, load_trained
from ._generate import (
    generate,
    grid_labels,
    guided_denoiser,
    guided_network,
    is_conditional,
    network_passes,
    to_uint8,
)
from ._guide import AutoGuided, kept_weights_path, with_guide
from ._images import save_grid
from ._samplefile import checked_samples, load_samples, save_samples
from ._train import Batches, OnValidation, TrainResult, Validator, adamw, learning_rate, step_draws, train
from ._trainlog import TrainLog

__all__ = ["AutoGuided", "CHECKPOINT", "adamw", "Batches", "build_model", "generate", "grid_labels", "guided_denoiser",
           "guided_network", "is_conditional", "kept_weights_path", "learning_rate", "load_checkpoint", "load_samples",
           "checked_samples", "load_trained", "network_passes", "OnValidation", "save_grid", "save_samples",
           "step_draws", "to_uint8", "train", "TrainedModel", "TrainLog", "TrainResult", "Validator", "with_guide"]
