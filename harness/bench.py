"""`harness bench-compare`: a pytest-benchmark run against the committed baseline, in calibration units.

Every benchmark's median is divided by the median of the calibration matmul of the same run, so a
figure compares across machines and noisy neighbours; a figure more than `tolerance` slower than the
baseline's is a regression.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigError

CALIBRATION = "test_calibration_matmul"  # the benchmark every other one is divided by
TOLERANCE = 0.25  # a normalised figure 25% slower than the baseline fails bench-check


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
    """({benchmark: median / calibration median}, {benchmark: median seconds}) of a pytest-benchmark JSON file."""
    try:
        runs = json.loads(Path(path).read_text())["benchmarks"]
        seconds = {b["name"]: float(b["stats"]["median"]) for b in runs}
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ConfigError(f"{path} is not a pytest-benchmark JSON file ({type(e).__name__}: {e}); "
                          f"make one with `make bench`") from None
    if CALIBRATION not in seconds:
        raise ConfigError(f"{path} lacks the calibration benchmark {CALIBRATION}; run the whole tests/benchmarks suite")
    unit = seconds[CALIBRATION]
    return {name: s / unit for name, s in seconds.items() if name != CALIBRATION}, seconds


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
            f"512 x 512 fp32 matmul timed in the same run. A change above +{tolerance:.0%} fails `make bench-check`.",
            "", comparison_table(rows, tolerance)]


def perf_markdown(rows: list[Comparison], current: Path, command: str, tolerance: float = TOLERANCE) -> str:
    """`bench-compare --report`: the benchmarks alone, as markdown."""
    return "\n".join(["# Benchmarks", "", *bench_lines(rows, current, command, tolerance), ""])
