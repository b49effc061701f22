"""A per-folder exclusive lock, so two workers never train into the same run folder at once."""

from __future__ import annotations

import fcntl
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOCK_FILE = ".lock"


@contextmanager
def folder_lock(folder: Path, holder: str) -> Iterator[None]:
    """Hold `folder`/.lock exclusively; waits (saying so) while another process holds it.

    flock is released by the kernel when its holder dies, so a killed worker never leaves a stale lock.
    """
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / LOCK_FILE, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"{holder}: waiting for another worker to finish training {folder}", file=sys.stderr, flush=True)
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
