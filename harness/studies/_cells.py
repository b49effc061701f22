"""Which trials of a study are done, claimed by a live worker, or lost; so every cell runs exactly once.

A grid cell is one (point, seed). It is done when a trial of it completed, was pruned, or failed with a
recorded reason (e.g. "diverged at step k"). A trial failed with no reason was interrupted (Ctrl-C, a
killed worker): its cell is open again.
"""

from __future__ import annotations

import os
import socket

import optuna
from optuna.exceptions import UpdateFinishedTrialError
from optuna.storages import RetryHeartbeatStaleTrialCallback
from optuna.trial import FrozenTrial, TrialState

from ._optuna import experimental_allowed
from ._spec import StudySpec

DUPLICATE = "duplicate_of"  # user attr of a trial that found its cell taken and stopped at once
FAILURE = "failure"  # user attr: why a trial failed for good (a failure that a rerun would repeat)
CAUTIONS = "cautions"  # user attr: allowed but questionable settings of the trial's config (harness.config.cautions)
WORKER = "worker"  # user attr: host:pid of the process running the trial
RUN = "run"  # user attr: the trained network's folder, relative to the study's
PRUNED_AT = "pruned_at_step"  # user attr: the training step at which the pruner stopped a tuning trial
RECORDED = "recorded_value"  # user attr: what a grid trial's Optuna value is when its recorded metric was not measured
Cell = tuple[int, int]  # (grid point index, seed)


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def is_done(t: FrozenTrial) -> bool:
    if DUPLICATE in t.user_attrs:
        return False
    return t.state in (TrialState.COMPLETE, TrialState.PRUNED) or (t.state == TrialState.FAIL and FAILURE in t.user_attrs)


def cell(t: FrozenTrial) -> Cell | None:
    """The grid cell of a trial (None before its parameters were suggested)."""
    params = t.params or t.system_attrs.get("fixed_params", {})  # a queued retry holds its cell as fixed params
    if "point" not in params or "seed" not in params:
        return None
    return int(params["point"]), int(params["seed"])


def all_cells(spec: StudySpec) -> list[Cell]:
    return [(p, s) for p in range(len(spec.points())) for s in spec.seeds]


def trials(study: optuna.Study) -> list[FrozenTrial]:
    return study.get_trials(deepcopy=False)


def done_count(ts: list[FrozenTrial], spec: StudySpec) -> int:
    """Among the trials `ts` of a study: grid cells done, or finished tuning trials."""
    if spec.tuning:
        return sum(is_done(t) for t in ts)
    return len({cell(t) for t in ts if is_done(t)} - {None})


def available(study: optuna.Study, spec: StudySpec) -> int:
    """Trials a worker may still start: cells neither done nor running (grid), or the tuning trials left."""
    ts = trials(study)  # one read of the storage for both counts
    running = [t for t in ts if t.state == TrialState.RUNNING]
    if spec.tuning:
        return max(0, spec.trials - done_count(ts, spec) - len(running))
    taken = {cell(t) for t in ts if is_done(t)} | {cell(t) for t in running}
    return len(set(all_cells(spec)) - taken)


def fail_dead_local_trials(study: optuna.Study) -> list[int]:
    """Fail (and queue a retry of) running trials whose worker on this host no longer exists.

    Heartbeats catch dead workers on other machines after the grace period; on this host a dead pid is
    certain at once, so a rerun right after a kill does not wait.
    """
    host, failed = socket.gethostname(), []
    for t in trials(study):
        if t.state != TrialState.RUNNING or WORKER not in t.user_attrs:
            continue
        where, _, pid = str(t.user_attrs[WORKER]).rpartition(":")
        if where == host and not _alive(int(pid)):
            try:
                if study._storage.set_trial_state_values(t._trial_id, state=TrialState.FAIL):
                    failed.append(t.number)
                    with experimental_allowed():
                        RetryHeartbeatStaleTrialCallback()(study, study._storage.get_trial(t._trial_id))
            except UpdateFinishedTrialError:  # another worker got there first
                pass
    return failed


def _alive(pid: int) -> bool:
    if pid == os.getpid():  # our own pid on a trial we are not running: the pid was reused
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def retry_interrupted(study: optuna.Study, spec: StudySpec) -> list[Cell]:
    """Queue one retry for every grid cell whose trials were all interrupted (none done, running or waiting)."""
    if spec.tuning:
        return []
    ts = trials(study)
    settled = {cell(t) for t in ts if is_done(t) or t.state in (TrialState.RUNNING, TrialState.WAITING)}
    lost = sorted({cell(t) for t in ts if t.state == TrialState.FAIL and not is_done(t)} - settled - {None})
    for point, seed in lost:
        study.enqueue_trial({"point": point, "seed": seed}, skip_if_exists=False)
    return lost


def duplicate_of(study: optuna.Study, me: FrozenTrial | optuna.Trial, mine: Cell) -> int | None:
    """The number of another trial that owns `mine` (done, or running with a lower number), else None."""
    for t in trials(study):
        if t.number != me.number and cell(t) == mine and (is_done(t) or (t.state == TrialState.RUNNING and t.number < me.number)):
            return t.number
    return None
