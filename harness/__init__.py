"""A benchmark and ablation harness for class-conditional diffusion on MNIST.

The public API, imported lazily so that `harness components` does not pay for Optuna or torch-fidelity:

    from harness import resolve_config, train, evaluate, load_spec, run_study, write_report
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "RunConfig": "config", "config_from_dict": "config", "config_to_dict": "config",
    "resolve_config": "presets", "PRESETS": "presets", "BUDGETS": "presets",
    "train": "train", "TrainResult": "train",
    "evaluate": "evaluate", "METRICS": "evaluate",
    "generate": "generate", "SAMPLERS": "samplers", "SCHEDULES": "schedules",
    "StudySpec": "spec", "load_spec": "spec",
    "run_study": "study", "open_study": "study",
    "write_report": "report",
    "HarnessError": "errors", "ConfigError": "errors",
    "keep_freed_memory": "allocator",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'harness' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
