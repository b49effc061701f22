"""Where results land under the results root: one owner for each folder's name."""

from __future__ import annotations

from pathlib import Path

RESULTS = Path("results")  # the default results root (--results)
RUNS = "runs"  # <results>/runs/<config-hash>/: every trained network, shared by all studies and analyses
PERF = "perf"  # <results>/perf/: benchmarks, train-step speed, peers and the performance report
DIFFICULTY = "difficulty"  # <results>/difficulty/: the per-digit difficulty analysis
REPRODUCE = "reproduce"  # <results>/reproduce/: the verdicts on the reports' claims
SPECS = Path(__file__).resolve().parents[2] / "ablations"  # the shipped study specs, beside the package
BASELINES = Path("tests/benchmarks/baselines")  # the committed benchmark baselines, one <machine class>.json each
RESERVED = (RUNS, DIFFICULTY, REPRODUCE, PERF)  # folders that no study may be named after


def perf_dir(results: Path) -> Path:
    """<results>/perf/, where every performance figure lands."""
    return results / PERF
