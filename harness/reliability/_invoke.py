"""Two ways to run `harness ARGS`: in this process (fast, for tests) or as a new process (as a user would)."""

from __future__ import annotations

import io
import subprocess
import sys
from collections.abc import Callable, Sequence
from contextlib import redirect_stderr, redirect_stdout

Invoke = Callable[[Sequence[str]], tuple[int, str, str]]  # argv -> (exit status, stdout, stderr)

HARNESS = (sys.executable, "-m", "harness.cli")  # the `harness` console script, minus PATH lookup


def in_process(argv: Sequence[str]) -> tuple[int, str, str]:
    """harness.cli.main(argv) with its output captured; (exit status, stdout, stderr)."""
    from ..cli import main

    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            status = main(list(argv))
        except SystemExit as e:  # argparse's usage errors
            status = e.code if isinstance(e.code, int) else 2
    return status, out.getvalue(), err.getvalue()


def in_subprocess(argv: Sequence[str], timeout_s: float = 600) -> tuple[int, str, str]:
    """`harness argv` in a new Python process; (exit status, stdout, stderr)."""
    done = subprocess.run([*HARNESS, *argv], capture_output=True, text=True, timeout=timeout_s)
    return done.returncode, done.stdout, done.stderr
