"""`harness bench-compare`: a pytest-benchmark run against the committed baseline, in calibration units.

Every benchmark's median is divided by the median of the calibration matmul timed right before and after
it (tests/benchmarks/test_speed.py stores it in the benchmark's extra_info), so a figure compares across
machines and noisy neighbours, whose speed drifts within one run; a figure more than `tolerance` slower
than the baseline's is a regression.
"""

from __future__ import annotations

import json
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from .errors import ConfigError

CALIBRATION_KEY = "calibration_s"  # extra_info of each benchmark: the calibration matmul's median seconds around it
TOLERANCE = 0.25  # a normalised figure 25% slower than the baseline fails bench-check
CALIBRATION_N = 512  # side of the calibration matmul (0.27 GFLOP)


def calibration_operands() -> tuple[torch.Tensor, torch.Tensor]:
    """The calibration matmul's two fixed (512, 512) fp32 operands."""
    return tuple(torch.randn(CALIBRATION_N, CALIBRATION_N, generator=torch.Generator().manual_seed(k)) for k in (0, 1))


def calibration_seconds(reps: int = 30) -> float:
    """Median seconds of the calibration matmul over `reps` runs (about 0.1 s on 2 cores)."""
    a, b = calibration_operands()
    torch.mm(a, b)  # first call: allocation and BLAS warm-up
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        torch.mm(a, b)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


@dataclass(frozen=True)
class Comparison:
    name: str  # the benchmark's test name
    baseline: float  # its median in calibration units, in the baseline run
    current: float  # the same in this run
    seconds: float  # its median in seconds, in this run

    @property
    def change(self) -> float:
        """Relative slow-down (+) or speed-up (-) against the baseline."""
        return self.current / self.baseline - 1.0


def normalised_medians(path: Path) -> tuple[dict[str, float], dict[str, float]]:
    """({benchmark: median / its calibration}, {benchmark: median seconds}) of a pytest-benchmark JSON file."""
    return _read_run(path)[1:]


def _read_run(path: Path) -> tuple[dict, dict[str, float], dict[str, float]]:
    """A pytest-benchmark JSON file: (its record, the normalised medians, the medians in seconds)."""
    try:
        record = json.loads(Path(path).read_text())
        runs = record["benchmarks"]
        seconds = {b["name"]: float(b["stats"]["median"]) for b in runs}
        units = {b["name"]: b.get("extra_info", {}).get(CALIBRATION_KEY) for b in runs}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        raise ConfigError(f"{path} is not a pytest-benchmark JSON file ({type(e).__name__}: {e}); "
                          f"make one with `make bench`") from None
    missing = [name for name, unit in units.items() if not isinstance(unit, (int, float)) or unit <= 0]
    if missing:
        raise ConfigError(f"{path}: {missing[0]} has no extra_info.{CALIBRATION_KEY} (the calibration matmul timed "
                          f"around it); record it with this suite: `make bench`, or `make bench-baseline` for the baseline")
    return record, {name: s / units[name] for name, s in seconds.items()}, seconds


def median_run(paths: list[Path]) -> dict:
    """One pytest-benchmark record from several runs of the suite: each benchmark's entry is taken whole from
    the run whose normalised figure is the median (the lower middle for an even count). A figure from one run
    swings with that process's luck (a sub-millisecond benchmark by up to 60% here); the median of three does not."""
    if not paths:
        raise ConfigError("bench-median needs at least one pytest-benchmark JSON file")
    runs = [_read_run(p)[:2] for p in paths]  # (record, normalised figures), each file read once
    entries = []
    for bench in runs[0][0]["benchmarks"]:
        name = bench["name"]
        ranked = sorted((figures[name], i) for i, (_, figures) in enumerate(runs) if name in figures)
        middle = ranked[(len(ranked) - 1) // 2][1]
        entries.append(next(b for b in runs[middle][0]["benchmarks"] if b["name"] == name))
    return {**runs[0][0], "benchmarks": entries, "median_of": [str(p) for p in paths]}


def compare(current: Path, baseline: Path) -> list[Comparison]:
    """Every benchmark present in both runs, in the baseline's order."""
    now, seconds = normalised_medians(current)
    before, _ = normalised_medians(baseline)
    return [Comparison(name, before[name], now[name], seconds[name]) for name in before if name in now]


def regressions(rows: list[Comparison], tolerance: float = TOLERANCE) -> list[Comparison]:
    return [r for r in rows if r.change > tolerance]


def comparison_table(rows: list[Comparison], tolerance: float = TOLERANCE) -> str:
    """Markdown: each benchmark's seconds, its calibration-unit figures then and now, and a verdict."""
    lines = ["| benchmark | median now | now (calibration units) | baseline | change | verdict |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        verdict = "REGRESSED" if r.change > tolerance else "ok"
        lines.append(f"| {r.name} | {r.seconds * 1000:.2f} ms | {r.current:.2f} | {r.baseline:.2f} | "
                     f"{r.change:+.0%} | {verdict} |")
    return "\n".join(lines)


def bench_lines(rows: list[Comparison], current: Path, command: str, tolerance: float = TOLERANCE) -> list[str]:
    """Markdown: the machine (as pytest-benchmark recorded it), the command, what the units mean, the table."""
    info = json.loads(Path(current).read_text()).get("machine_info", {})
    cpu = info.get("cpu", {})
    machine = (f"{cpu.get('brand_raw', info.get('processor', '?'))}, {cpu.get('count', '?')} logical cores, "
               f"{info.get('system', '?')} {info.get('release', '')}, Python {info.get('python_version', '?')}")
    return [f"Measured on {machine}, by `{command}`.", "",
            f"Medians of pytest-benchmark rounds; calibration units divide each by the median of a fixed "
            f"512 x 512 fp32 matmul timed right before and after it. A change above +{tolerance:.0%} fails `make bench-check`.",
            "", comparison_table(rows, tolerance)]


def perf_markdown(rows: list[Comparison], current: Path, command: str, tolerance: float = TOLERANCE) -> str:
    """`bench-compare --report`: the benchmarks alone, as markdown."""
    return "\n".join(["# Benchmarks", "", *bench_lines(rows, current, command, tolerance), ""])
