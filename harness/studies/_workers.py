"""Workers: the loop that takes a study's open trials until none is left, and `--workers N` local processes running it."""

from __future__ import annotations

import multiprocessing
import os
import sys
from pathlib import Path

import optuna
import torch

from .._util import HarnessError, keep_freed_memory
from ._cells import available, fail_dead_local_trials, retry_interrupted
from ._optuna import experimental_allowed
from ._spec import StudySpec
from ._storage import open_study, study_dir
from ._trial import TrialRunner


def run_workers(spec: StudySpec, results: Path, url: str, workers: int, progress: bool, grace_s: float) -> None:
    """Start `workers` processes, wait for all of them; an error names every worker that failed."""
    ctx = multiprocessing.get_context("spawn")  # a fresh interpreter: no forked torch threads or DB connections
    procs = [ctx.Process(target=_worker, args=(spec, str(results), url, k, workers, progress, grace_s),
                         name=f"worker {k + 1}/{workers}") for k in range(workers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    failed = [f"{p.name} (exit code {p.exitcode})" for p in procs if p.exitcode != 0]
    if failed:
        raise HarnessError(f"study {spec.name}: {', '.join(failed)} stopped early; run the same command again "
                           f"to finish the open trials")


def _worker(spec: StudySpec, results: str, url: str, k: int, workers: int, progress: bool, grace_s: float) -> None:
    keep_freed_memory()  # a spawned interpreter starts with glibc's defaults again
    torch.set_num_threads(max(1, (os.cpu_count() or 1) // workers))  # N workers share the cores
    who = f"worker {k + 1}/{workers}"
    try:
        study = open_study(spec, Path(results), url, grace_s, sampler_seed=k)
        work(study, spec, study_dir(spec, Path(results)), progress, who=who)
    except HarnessError as e:
        print(f"{who}: error: {e}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:  # Ctrl-C reaches every worker; the parent says how to resume
        sys.exit(130)


def work(study: optuna.Study, spec: StudySpec, folder: Path, progress: bool, who: str = "") -> None:
    """One worker's loop: take the next open trial until none is left (other workers may run beside it)."""
    runner = TrialRunner(spec, folder, progress, who)
    for _ in range(4 * spec.size + 10):  # each pass finishes a trial or prunes a raced duplicate
        with experimental_allowed():
            optuna.storages.fail_stale_trials(study)
        fail_dead_local_trials(study)
        retry_interrupted(study, spec)
        if not available(study, spec):
            return
        study.optimize(runner, n_trials=1, catch=())
    raise HarnessError(f"study {spec.name}: trials keep failing to claim a cell; is another runner misbehaving?")
