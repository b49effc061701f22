"""Optuna settings the studies share."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator

from optuna.exceptions import ExperimentalWarning


@contextlib.contextmanager
def experimental_allowed() -> Iterator[None]:
    """Optuna features that studies rely on (heartbeats, their stale-trial retry) without Optuna 4's
    ExperimentalWarning on every call: the harness pins how it uses them and its tests cover that use."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExperimentalWarning)
        yield
