"""Start a command, kill it at a random moment, start it again: until a run ends on its own."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ._invoke import HARNESS

SIGNALS = (signal.SIGKILL, signal.SIGINT)  # a crash or an out-of-memory kill, and Ctrl-C


@dataclass
class KillLog:
    """What a sequence of killed runs did."""

    kills: Counter = field(default_factory=Counter)  # signal name -> runs killed while they ran
    runs: int = 0  # starts, the final uninterrupted one included
    messages: list[str] = field(default_factory=list)  # the last stderr line after each SIGINT
    checks_failed: list[str] = field(default_factory=list)  # invariants broken right after a kill
    final_status: int | None = None  # exit status of the run that was not killed


def kill_and_rerun(argv: Sequence[str], kills: int, window_s: tuple[float, float], rng: random.Random,
                   after_kill: Callable[[], list[str]] = lambda: [], timeout_s: float = 900) -> KillLog:
    """Run `harness argv` up to `kills` times with a random signal at a random delay in `window_s`, then once more
    to the end. `after_kill` checks the files after each kill and returns the broken invariants."""
    log = KillLog()
    while sum(log.kills.values()) < kills:
        sig = rng.choice(SIGNALS)
        status, stderr = _run_once(argv, rng.uniform(*window_s), sig, timeout_s)
        log.runs += 1
        if status is not None:  # it finished before the signal: nothing left to interrupt
            log.final_status = status
            return log
        log.kills[sig.name] += 1
        if sig == signal.SIGINT:
            log.messages.append(stderr.strip().splitlines()[-1] if stderr.strip() else "(nothing printed)")
        log.checks_failed += after_kill()
    status, _ = _run_once(argv, None, None, timeout_s)
    log.runs += 1
    log.final_status = status
    return log


def _run_once(argv: Sequence[str], delay_s: float | None, sig: signal.Signals | None,
              timeout_s: float) -> tuple[int | None, str]:
    """(exit status, or None when the signal interrupted it; its stderr). The whole process group is signalled,
    as a terminal's Ctrl-C or an OOM kill of a worker pool would."""
    with tempfile.TemporaryFile("w+") as err:  # a file, not a pipe: a chatty child can never block on it
        proc = subprocess.Popen([*HARNESS, *argv], stdout=subprocess.DEVNULL, stderr=err, start_new_session=True,
                                preexec_fn=_default_sigint)
        deadline = time.monotonic() + (delay_s if delay_s is not None else timeout_s)
        while proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        signalled = proc.poll() is None
        if signalled:
            os.killpg(proc.pid, sig or signal.SIGKILL)
        status = proc.wait(timeout=120)  # reap the leader first: a zombie would keep its group "alive"
        if signalled:
            _wait_for_group(proc.pid)
        err.seek(0)
        stderr = err.read()
    if signalled and sig is None:
        raise TimeoutError(f"harness {' '.join(argv)} did not finish within {timeout_s:.0f} s")
    return (None if signalled and status != 0 else status), stderr


def _default_sigint() -> None:
    """A shell starts background jobs with SIGINT ignored, and Python keeps it so: restore Ctrl-C for the drill."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _wait_for_group(pgid: int, timeout_s: float = 60) -> None:
    """Wait until every process of the group (worker processes too) has exited; SIGKILL what is left after that."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass
