"""The overall progress line of a study: trial i of n, time spent, time left."""

from __future__ import annotations

import time

import optuna
from optuna.trial import TrialState

from ._cells import done_count, is_done, trials
from ._spec import StudySpec


def progress_line(study: optuna.Study, spec: StudySpec, label: str, started: float, who: str = "") -> str:
    """'[skip] trial 3 of 6 (model.skip=false, seed 0) | 4m10s spent, about 8m left'."""
    ts = trials(study)
    done = done_count(ts, spec)
    running = max(1, sum(t.state == TrialState.RUNNING for t in ts))  # this trial included
    spans = [(t.datetime_complete - t.datetime_start).total_seconds() for t in ts
             if is_done(t) and t.datetime_start and t.datetime_complete]
    left = spec.size - done
    eta = f"about {_duration(sum(spans) / len(spans) * left / running)} left" if spans else "time left known after the first trial"
    prefix = f"[{spec.name}{' ' + who if who else ''}]"
    return f"{prefix} trial {min(done + 1, spec.size)} of {spec.size} ({label}) | {_duration(time.monotonic() - started)} spent, {eta}"


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}h{rest // 60:02d}m" if hours else f"{rest // 60}m{rest % 60:02d}s"
