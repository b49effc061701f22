"""A benchmark and ablation harness for class-conditional diffusion on MNIST.

The public API, imported lazily so that `harness components` does not pay for Optuna or torch-fidelity:

    from harness import resolve_config, train, evaluate, score, load_spec, run_study, write_report
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "RunConfig": "config", "config_from_dict": "config", "config_to_dict": "config",
    "resolve_config": "config", "PRESETS": "config", "BUDGETS": "config",
    "train": "runs", "TrainResult": "runs", "generate": "runs",
    "evaluate": "metrics", "score": "metrics", "METRICS": "metrics",
    "SAMPLERS": "core", "SCHEDULES": "core",
    "StudySpec": "studies", "load_spec": "studies", "run_study": "studies", "open_study": "studies",
    "write_report": "studies",
    "HarnessError": "_util", "ConfigError": "_util",
    "keep_freed_memory": "_util",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'harness' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
