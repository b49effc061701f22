"""`harness reliability`: every bad input as a new process, then the kill drills, into results/reliability.md."""

from __future__ import annotations

import random
import tempfile
import time
from pathlib import Path

from .._util import write_text
from ._bad_inputs import BAD_INPUTS, Outcome, prepare_sandbox, try_bad_input
from ._drills import DrillResult, evaluate_drill, report_drill, study_drill, train_drill
from ._invoke import Invoke, in_subprocess
from ._markdown import reliability_markdown


def check_bad_inputs(sandbox: Path, invoke: Invoke = in_subprocess) -> list[Outcome]:
    """Every case of BAD_INPUTS against a fresh sandbox under `sandbox`."""
    prepare_sandbox(sandbox)
    return [try_bad_input(case, sandbox, invoke) for case in BAD_INPUTS]


def run_drills(root: Path, kills: int, seed: int, storage: str | None = None) -> list[DrillResult]:
    """The four kill drills, `kills` kills each, with kill moments drawn from `seed`."""
    rng = random.Random(seed)
    drills = [train_drill(root, kills, rng)]
    drills.append(evaluate_drill(root, root / "train-reference", kills, rng))
    drills.append(study_drill(root, kills, rng, storage=storage))
    drills.append(report_drill(root / "results", kills, rng))
    return drills


def run_reliability(out: Path, kills: int, seed: int, storage: str | None, command: str) -> tuple[Path, bool]:
    """Write the reliability report to `out`; True when every bad input and every drill behaved."""
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="harness-reliability-") as tmp:
        outcomes = check_bad_inputs(Path(tmp) / "sandbox")
        drills = run_drills(Path(tmp) / "drills", kills, seed, storage)
    write_text(out, reliability_markdown(outcomes, drills, command, time.perf_counter() - t0))
    return out, all(o.ok for o in outcomes) and all(d.ok for d in drills)
