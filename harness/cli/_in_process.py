"""`harness ARGS` in this process, its output captured: the fast way for tests to type a command."""

from __future__ import annotations

import io
from collections.abc import Sequence
from contextlib import redirect_stderr, redirect_stdout

from ._main import main


def in_process(argv: Sequence[str]) -> tuple[int, str, str]:
    """harness.cli.main(argv) with its output captured; (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            status = main(list(argv))
        except SystemExit as e:  # argparse's usage errors
            status = e.code if isinstance(e.code, int) else 2
    return status, out.getvalue(), err.getvalue()
