"""`harness ARGS` as a new process, as a user runs it (tests also run it in their own process: harness.cli.in_process)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Sequence

Invoke = Callable[[Sequence[str]], tuple[int, str, str]]  # argv -> (exit status, stdout, stderr)

HARNESS = (sys.executable, "-m", "harness.cli")  # the `harness` console script, minus PATH lookup


def in_subprocess(argv: Sequence[str], timeout_s: float = 600) -> tuple[int, str, str]:
    """`harness argv` in a new Python process; (exit status, stdout, stderr)."""
    done = subprocess.run([*HARNESS, *argv], capture_output=True, text=True, timeout=timeout_s)
    return done.returncode, done.stdout, done.stderr
