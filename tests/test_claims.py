"""Bookkeeping of grid cells on a real SQLite Optuna storage, with trials placed by hand."""

import subprocess
import sys
import warnings
from pathlib import Path

import optuna
import pytest
from optuna.distributions import CategoricalDistribution
from optuna.trial import TrialState
from studyspecs import GRID, write_spec

from harness.studies import (
    DUPLICATE,
    FAILURE,
    WORKER,
    available,
    cell,
    done_count,
    duplicate_of,
    fail_dead_local_trials,
    load_spec,
    open_study,
    retry_interrupted,
    worker_id,
)

DISTS = {"point": CategoricalDistribution([0, 1]), "seed": CategoricalDistribution([0, 1])}


@pytest.fixture(autouse=True)
def _asked_without_optimize() -> None:
    warnings.filterwarnings("ignore", "Heartbeat of storage is supposed to be used with Study.optimize")


@pytest.fixture
def grid(tmp_path: Path) -> tuple[optuna.Study, object]:
    spec = load_spec(write_spec(tmp_path, GRID))
    return open_study(spec, tmp_path / "r", None), spec


def add(study: optuna.Study, point: int, seed: int, state: TrialState, **attrs: object) -> None:
    study.add_trial(optuna.create_trial(state=state, params={"point": point, "seed": seed}, distributions=DISTS,
                                        value=0.0 if state == TrialState.COMPLETE else None, user_attrs=attrs))


def test_done_cells_counts_completed_pruned_and_reasoned_failures(grid) -> None:  # noqa: ANN001
    study, spec = grid
    add(study, 0, 0, TrialState.COMPLETE)
    add(study, 0, 1, TrialState.FAIL, **{FAILURE: "diverged at step 3"})
    add(study, 1, 0, TrialState.FAIL)  # interrupted: open again
    add(study, 1, 1, TrialState.COMPLETE, **{DUPLICATE: 0})  # a raced duplicate owns nothing
    assert done_count(study.get_trials(), spec) == 2 and available(study, spec) == 2


def test_an_interrupted_cell_is_queued_once(grid) -> None:  # noqa: ANN001
    study, spec = grid
    add(study, 1, 0, TrialState.FAIL)
    add(study, 0, 0, TrialState.COMPLETE)
    assert retry_interrupted(study, spec) == [(1, 0)]
    assert retry_interrupted(study, spec) == []  # its retry is waiting now
    waiting = [t for t in study.get_trials() if t.state == TrialState.WAITING]
    assert len(waiting) == 1 and waiting[0].system_attrs["fixed_params"] == {"point": 1, "seed": 0}


def test_the_lower_trial_number_owns_a_raced_cell(grid) -> None:  # noqa: ANN001
    study, _ = grid
    first, second = study.ask(DISTS), study.ask(DISTS)  # running, with cells the grid sampler gave them
    mine = cell(study._storage.get_trial(first._trial_id))
    assert duplicate_of(study, second, mine) == first.number  # running with a lower number
    assert duplicate_of(study, first, mine) is None
    other = next(c for c in [(0, 0), (0, 1), (1, 0), (1, 1)] if c not in {mine, cell(study._storage.get_trial(second._trial_id))})
    add(study, *other, TrialState.COMPLETE)
    assert duplicate_of(study, first, other) == 2  # done already


def test_a_running_trial_of_a_dead_local_worker_is_failed_and_retried(grid) -> None:  # noqa: ANN001
    study, _ = grid
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    host = worker_id().rpartition(":")[0]
    gone, alive = study.ask(DISTS), study.ask(DISTS)
    gone.set_user_attr(WORKER, f"{host}:{dead.stdout.strip()}")
    alive.set_user_attr(WORKER, f"{host}:1")  # pid 1 exists
    assert fail_dead_local_trials(study) == [gone.number]
    states = {t.number: t.state for t in study.get_trials()}
    assert states[gone.number] == TrialState.FAIL and states[alive.number] == TrialState.RUNNING
    assert sum(s == TrialState.WAITING for s in states.values()) == 1
