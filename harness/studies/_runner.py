"""The study runner: a spec as an Optuna study (GridSampler over point x seed, or TPE with a pruner).

Storage is SQLite in results/<study>/ or any SQLAlchemy URL. Re-running a study runs only what is
missing: interrupted trials (Ctrl-C, a killed worker) are retried, finished ones never run twice.
Trials whose configs differ only in sample.* or eval.* settings share one trained checkpoint
(results/runs/<hash>/, shared with every other study and analysis).
"""

from __future__ import annotations

from pathlib import Path

import optuna

from .._util import RESULTS, bf16_sampling, resolve_device, training_precision
from ._spec import StudySpec
from ._storage import GRACE_S, open_study, storage_url, study_dir
from ._workers import run_workers, work


def run_study(spec: StudySpec, results: Path = RESULTS, storage: str | None = None, progress: bool = True,
              workers: int = 1, grace_s: float = GRACE_S) -> optuna.Study:
    """Run every trial of the study that is not done yet (in `workers` processes), then return the study."""
    _require_device_support(spec)
    study = open_study(spec, results, storage, grace_s)
    if workers > 1:
        run_workers(spec, results, storage_url(spec, results, storage), workers, progress, grace_s)
    else:
        work(study, spec, study_dir(spec, results), progress)
    return study


def _require_device_support(spec: StudySpec) -> None:
    """A grid point this machine cannot run (bf16 training or sampling without native bf16) is refused before
    any trial, not after the others have trained."""
    for point in spec.points():
        cfg = spec.config(point, spec.seeds[0])
        device = resolve_device(cfg.train.device)
        training_precision(cfg.train.amp, cfg.train.cpu_bf16, device)
        bf16_sampling(cfg.sample.precision, device)
