"""Kill drills: training, evaluation, report writing and a two-worker study, each killed at random moments.

Each drill compares the end state with an uninterrupted run (or with the state before the kills) and lists
finished files that were lost or changed and temporary files left behind.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import optuna
import torch

from .._util import HarnessError, partial_files
from ..runs import CHECKPOINT, load_checkpoint
from ..studies import study_db_url
from ._invoke import in_subprocess
from ._kills import KillLog, kill_and_rerun
from ._snapshot import snapshot
from ._specs import DRILL_OVERRIDES, drill_spec

RESUME_HINT = "run the same command again"  # what every Ctrl-C message must tell the user
KILL_BY = 0.8  # kill moments fall before this fraction of a clean run's time, so that most land mid-work


@dataclass
class DrillResult:
    """One drill: its kills, the invariants checked at the end, and what was lost or left behind."""

    name: str  # what was interrupted
    log: KillLog
    checks: dict[str, bool] = field(default_factory=dict)  # invariant -> held at the end
    lost: list[str] = field(default_factory=list)  # finished files missing or changed after the kills
    partial: list[str] = field(default_factory=list)  # temporary files left after the final run
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return (self.log.final_status == 0 and all(self.checks.values()) and not self.lost and not self.partial
                and not self.log.checks_failed)


def _train_argv(out: Path) -> list[str]:
    sets = [a for o in DRILL_OVERRIDES for a in ("--set", o)]
    return ["train", "--budget", "smoke", *sets, "--out", str(out), "--quiet"]


def _timed(argv: list[str]) -> float:
    """Run `harness argv` to the end; its wall time in seconds."""
    t0 = time.perf_counter()
    status, _, stderr = in_subprocess(argv)
    if status != 0:
        raise HarnessError(f"the uninterrupted reference run failed: {stderr.strip()[-300:]}")
    return time.perf_counter() - t0


def _timed_after_warm_up(warm_up: list[str], argv: list[str]) -> float:
    """Run `harness warm_up` (the same command on a scratch folder), then time `harness argv` to its end.

    A first run fills the caches (MNIST's decoded pixels, the reference digits' features) and so lasts longer than
    the runs after it; timed alone, it would stretch the kill window past the killed runs' length, and they would
    end before their kill. The later drills find the caches filled.
    """
    _timed(warm_up)
    return _timed(argv)


def train_drill(root: Path, kills: int, rng: random.Random) -> DrillResult:
    """Kill `harness train` at random moments; the resumed run must end with the uninterrupted run's weights."""
    t0 = time.perf_counter()
    reference_s = _timed_after_warm_up(_train_argv(root / "train-warm-up"), _train_argv(root / "train-reference"))
    killed = root / "train-killed"
    log = kill_and_rerun(_train_argv(killed), kills, (1.0, KILL_BY * reference_s), rng, lambda: _readable(killed))
    return DrillResult("training", log, {
        "weights equal an uninterrupted run's": _same_weights(root / "train-reference", killed),
        "every Ctrl-C message says how to resume": all(RESUME_HINT in m for m in log.messages)},
        partial=_partial(killed), seconds=time.perf_counter() - t0)


def evaluate_drill(root: Path, run: Path, kills: int, rng: random.Random) -> DrillResult:
    """Kill `harness evaluate` at random moments; its metrics.json is absent or whole, and finally equals a clean run's."""
    t0 = time.perf_counter()
    def argv(folder: Path) -> list[str]:
        return ["evaluate", str(folder), "--metrics", "mse,class_acc,fid", "--per-class", "20"]

    clean, killed = shutil.copytree(run, root / "eval-reference"), shutil.copytree(run, root / "eval-killed")
    reference_s = _timed_after_warm_up(argv(shutil.copytree(run, root / "eval-warm-up")), argv(clean))
    log = kill_and_rerun(argv(killed), kills, (1.0, KILL_BY * reference_s), rng, lambda: _readable(killed))
    return DrillResult("evaluation", log, {
        "metrics equal an uninterrupted evaluation's": _same_metrics(clean / "metrics.json", killed / "metrics.json"),
        "every Ctrl-C message says how to resume": all(RESUME_HINT in m for m in log.messages)},
        partial=_partial(killed), seconds=time.perf_counter() - t0)


def study_drill(root: Path, kills: int, rng: random.Random, workers: int = 2, storage: str | None = None) -> DrillResult:
    """Kill a study of 4 trials run by `workers` processes at random moments, re-run it, until it ends by itself.

    A clean run of the same study first gives the kill window (and the study the report drill rebuilds). With
    `storage`, the killed study gets a name of its own, so a database used before does not hold it already.
    """
    t0 = time.perf_counter()
    reference_s = _timed(_study_argv(root, "drill", workers, root / "results", None))
    name = "drill" if storage is None else f"drill-{os.getpid()}"
    folder = root / "results-killed" / name
    finished: dict[str, str] = {}

    def after_kill() -> list[str]:
        finished.update(_finished_files(folder))
        return _readable(folder)

    argv = _study_argv(root, name, workers, folder.parent, storage)
    log = kill_and_rerun(argv, kills, (1.0, KILL_BY * reference_s), rng, after_kill)
    cells = _complete_cells(folder, storage, name)
    return DrillResult(f"study ({workers} workers, {storage.split(':')[0] if storage else 'sqlite'})", log, {
        "every cell completed exactly once": sorted(cells.values()) == [1, 1, 1, 1],
        "report written": (folder / "report.md").is_file()},
        lost=_lost(finished, _finished_files(folder)), partial=_partial(folder), seconds=time.perf_counter() - t0)


def _study_argv(root: Path, name: str, workers: int, results: Path, storage: str | None) -> list[str]:
    spec = root / f"{name}.yaml"
    spec.write_text(drill_spec(name))
    return ["ablate", str(spec), "--workers", str(workers), "--results", str(results), "--quiet",
            *(["--storage", storage] if storage else [])]


def report_drill(results: Path, kills: int, rng: random.Random) -> DrillResult:
    """Kill `harness report` at random moments; tables and report stay whole and equal to the last good ones."""
    t0 = time.perf_counter()
    folder = results / "drill"
    argv = ["report", "drill", "--results", str(results)]
    reference_s = _timed(argv)
    before = _report_files(folder)

    def after_kill() -> list[str]:
        now = _report_files(folder)
        return [f"{name} changed or vanished after a kill" for name in before if now.get(name) != before[name]]

    log = kill_and_rerun(argv, kills, (0.5, KILL_BY * reference_s), rng, after_kill)
    return DrillResult("report writing", log, {"tables and report equal the last good ones": _report_files(folder) == before},
                       partial=_partial(folder), seconds=time.perf_counter() - t0)


def _readable(folder: Path) -> list[str]:
    """Every JSON file and the checkpoint under `folder` parses (a kill must never leave half a file)."""
    broken = []
    for path in folder.rglob("*.json"):
        try:
            json.loads(path.read_text())
        except ValueError:
            broken.append(f"{path.relative_to(folder)} is not whole JSON")
    for path in folder.rglob(CHECKPOINT):
        try:
            load_checkpoint(path)
        except HarnessError as e:
            broken.append(str(e))
    return broken


def _partial(folder: Path) -> list[str]:
    return [str(p.relative_to(folder)) for p in partial_files(folder)]


def _same_weights(a: Path, b: Path) -> bool:
    sa, sb = load_checkpoint(a / CHECKPOINT), load_checkpoint(b / CHECKPOINT)
    return all(torch.equal(sa[part][k], sb[part][k]) for part in ("model", "ema") for k in sa[part])


def _same_metrics(a: Path, b: Path) -> bool:
    if not b.is_file():
        return False
    ma, mb = json.loads(a.read_text()), json.loads(b.read_text())
    return all(ma[k] == mb[k] for k in ("mse", "class_acc", "fid", "per_digit"))


def _finished_files(folder: Path) -> dict[str, str]:
    """A study's files that never change once written: each trial's metrics.json and samples.png."""
    snap = snapshot(folder / "trials") if (folder / "trials").is_dir() else {}
    return {k: v for k, v in snap.items() if k.endswith(("metrics.json", "samples.png"))}


def _lost(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return [f"{k} {'changed' if k in after else 'vanished'}" for k, v in before.items() if after.get(k) != v]


def _complete_cells(folder: Path, storage: str | None, name: str) -> Counter:
    url = storage or study_db_url(folder)
    study = optuna.load_study(study_name=name, storage=url)
    return Counter((t.params["point"], t.params["seed"]) for t in study.get_trials() if t.state.name == "COMPLETE")


def _report_files(folder: Path) -> dict[str, str]:
    snap = snapshot(folder)
    return {k: v for k, v in snap.items() if k in ("report.md", "trials.csv", "summary.csv") or k.startswith("plots/")}

