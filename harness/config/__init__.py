"""Typed run configuration: the dataclasses, dotted overrides, presets, budgets and cautions."""

from ._cautions import EXTREME_GUIDANCE, cautions, ema_decay_unreached
from ._datasets import DATASETS, NUMBERED, Dataset
from ._presets import BUDGETS, PRESETS, resolve_config
from ._reference import configuration_reference
from ._schema import (
    CLIP_TEMPLATES,
    FULL_INTERVAL,
    DataConfig,
    DiffusionConfig,
    EvalConfig,
    ModelConfig,
    RunConfig,
    SampleConfig,
    TrainConfig,
    apply_overrides,
    config_from_dict,
    config_hash,
    config_to_dict,
    kept_step,
    load_yaml,
    sample_for,
    with_overrides,
)

__all__ = ["BUDGETS", "CLIP_TEMPLATES", "DATASETS", "Dataset", "EXTREME_GUIDANCE", "FULL_INTERVAL", "NUMBERED", "PRESETS", "apply_overrides", "cautions", "ema_decay_unreached",
           "config_from_dict", "config_hash", "kept_step", "config_to_dict", "configuration_reference", "DataConfig",
           "DiffusionConfig", "EvalConfig", "load_yaml", "ModelConfig", "resolve_config", "RunConfig", "sample_for",
           "SampleConfig", "TrainConfig", "with_overrides"]
