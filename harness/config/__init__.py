"""Typed run configuration: the dataclasses, dotted overrides, presets, budgets and cautions."""

from ._cautions import EXTREME_GUIDANCE, cautions
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
    load_yaml,
    with_overrides,
)

__all__ = ["configuration_reference", "BUDGETS", "CLIP_TEMPLATES", "DataConfig", "DiffusionConfig", "EXTREME_GUIDANCE", "EvalConfig",
           "FULL_INTERVAL", "ModelConfig", "PRESETS", "RunConfig", "SampleConfig", "TrainConfig", "apply_overrides",
           "cautions", "config_from_dict", "config_hash", "config_to_dict", "load_yaml", "resolve_config",
           "with_overrides"]
