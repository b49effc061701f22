"""`harness bench-compare`: a pytest-benchmark run against the committed baseline, in calibration units.

Every benchmark's median is divided by the median of its calibration kernel (harness.perf's calibration: a frozen
miniature of its inner loop) timed between its rounds, which tests/benchmarks/test_speed.py stores in the
benchmark's extra_info; so a figure holds through a machine's drift in speed within one run and between
runs, and between hosts of one class that run matmuls and small convolutions at different relative speeds. A
figure more than `tolerance` slower than the baseline's is a regression. Each class of machine (architecture and
widest SIMD level) has a baseline of its own in `BASELINES`; harness.perf's bench-against measures a base revision on
the same machine instead, for what no kernel evens out.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

from .._util import BASELINES, ConfigError, markdown_table, p_greater, write_json

MATMUL = "matmul"  # the first calibration kernel's name: what a benchmark recorded without a kernel name was held against
CALIBRATION_KEY = "calibration_s"  # extra_info of each benchmark: its calibration kernel's median seconds around it
KERNEL_KEY = "calibration_kernel"  # extra_info: that kernel's name in calibration.KERNELS; absent in older runs: the matmul
MATMUL_KEY = "matmul_s"  # extra_info: the matmul's seconds around it too, the unit of baselines recorded before the kernels
TOLERANCE = 0.25  # a normalised figure 25% slower than the baseline fails bench-check
# with runs of both sides (bench-against), a slower median fails only where the runs' rank test gives p <= ALPHA:
# a sub-millisecond benchmark's median can move by more than TOLERANCE on identical code
ALPHA = 0.05
# torch's AVX512 CPU kernels and numpy's AVX512_SKX loops need all four; below them both fall back to AVX2
_AVX512_FLAGS = frozenset({"avx512f", "avx512bw", "avx512dq", "avx512vl"})


@dataclass(frozen=True)
class Comparison:
    name: str  # the benchmark's test name
    baseline: float  # its median in calibration units, in the baseline run
    current: float  # the same in this run
    seconds: float  # its median in seconds, in this run
    # one-sided rank-test p that this side's runs are slower than the baseline's (stats.p_greater); None where
    # there are too few runs for it to reach ALPHA (a committed baseline is one run), so the change alone decides
    p_slower: float | None = None
    unit: str = MATMUL  # the calibration kernel both figures are in (calibration.KERNELS)
    own_unit: str = MATMUL  # the kernel this run held the benchmark against; unit differs where the baseline lacks it

    @property
    def change(self) -> float:
        """Relative slow-down (+) or speed-up (-) against the baseline."""
        return self.current / self.baseline - 1.0

    def regressed(self, tolerance: float = TOLERANCE) -> bool:
        """More than `tolerance` slower, and (where runs on both sides allow the test) slower beyond their noise."""
        return self.change > tolerance and (self.p_slower is None or self.p_slower <= ALPHA)


@dataclass(frozen=True)
class Run:
    """A pytest-benchmark JSON file of this suite, read and checked."""
    record: dict  # the file's whole record
    seconds: dict[str, float]  # benchmark -> median seconds
    yardsticks: dict[str, dict[str, float]]  # benchmark -> {calibration kernel: its seconds around it}, its own first

    def own_unit(self, name: str) -> str:
        """The kernel `name` was held against (its mark's; the matmul in runs from before the kernels)."""
        return next(iter(self.yardsticks[name]))

    def figure(self, name: str, unit: str | None = None) -> float:
        """`name`'s median in units of kernel `unit` (default: its own kernel)."""
        return self.seconds[name] / self.yardsticks[name][unit or self.own_unit(name)]

    def common_unit(self, other: Run, name: str) -> str:
        """The kernel to compare `name` in: its own where `other` has it too, else the matmul both recorded."""
        own, theirs = self.yardsticks[name], other.yardsticks[name]
        unit = self.own_unit(name)
        if unit in theirs:
            return unit
        if MATMUL in own and MATMUL in theirs:
            return MATMUL
        raise ConfigError(f"{name} was timed against calibration kernels {sorted(own)} in one run and {sorted(theirs)} "
                          f"in the other, none in common; record both with this suite (`make bench`, and "
                          f"`make bench-baseline` for a baseline)")


def read_run(path: Path) -> Run:
    """A pytest-benchmark JSON file of this suite; a ConfigError naming what is missing where it is not one."""
    try:
        record = json.loads(Path(path).read_text())
        entries = record["benchmarks"]
        seconds = {b["name"]: float(b["stats"]["median"]) for b in entries}
        yardsticks = {b["name"]: _yardsticks(b.get("extra_info", {})) for b in entries}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        raise ConfigError(f"{path} is not a pytest-benchmark JSON file ({type(e).__name__}: {e}); "
                          f"make one with `make bench`") from None
    missing = [name for name, marks in yardsticks.items() if not marks]
    if missing:
        raise ConfigError(f"{path}: {missing[0]} has no extra_info.{CALIBRATION_KEY} (its calibration kernel timed "
                          f"around it); record it with this suite: `make bench`, or `make bench-baseline` for the baseline")
    return Run(record, seconds, yardsticks)


def _yardsticks(extra_info: dict) -> dict[str, float]:
    """{kernel: seconds} of one benchmark's extra_info, its own kernel first; unusable figures are left out."""
    marks: dict[str, float] = {}
    for kernel, key in ((str(extra_info.get(KERNEL_KEY, MATMUL)), CALIBRATION_KEY), (MATMUL, MATMUL_KEY)):
        seconds = extra_info.get(key)
        if isinstance(seconds, (int, float)) and seconds > 0:
            marks.setdefault(kernel, float(seconds))
    return marks


def machine_class(record: dict) -> str:
    """The class of machine a pytest-benchmark record was measured on: its architecture and widest SIMD level
    ('x86_64-avx512', 'x86_64-avx2', 'x86_64', 'aarch64', ...), from the cpu flags pytest-benchmark records;
    for a run on CUDA (make bench BENCH_DEVICE=cuda) the GPU the suite recorded ('cuda-nvidia-h200').

    Figures in matmul units differ between classes by the instruction set alone: numpy vectorises the float64
    power of KID's cubic kernel only with AVX-512, so the FID/KID benchmark read 2.2x the AVX-512 host's figure
    on an AVX2 host. Its own kernel runs that power too, which should even it out; unmeasured on AVX-512."""
    info = record.get("machine_info") or {}
    if info.get("cuda_device"):  # tests/conftest.py records it for --bench-device cuda
        return "cuda-" + re.sub(r"[^a-z0-9]+", "-", str(info["cuda_device"]).lower()).strip("-")
    cpu = info.get("cpu") or {}
    arch = str(cpu.get("arch_string_raw") or info.get("machine") or "unknown").lower()
    flags = {str(f).lower() for f in cpu.get("flags") or []}
    if arch not in ("x86_64", "amd64"):  # the SIMD levels below are x86's
        return arch
    level = "avx512" if _AVX512_FLAGS <= flags else "avx2" if {"avx2", "fma"} <= flags else ""
    return f"{arch}-{level}" if level else arch


def baseline_for(current: Path, baseline: Path) -> Path:
    """`baseline` when it is a file; when a folder, its baseline for the class of machine `current` ran on."""
    if not baseline.is_dir():
        return baseline
    kind = machine_class(read_run(current).record)
    path = baseline / f"{kind}.json"
    if not path.is_file():
        have = ", ".join(sorted(p.stem for p in baseline.glob("*.json"))) or "none"
        raise ConfigError(f"{current} was measured on a class of machine ({kind}) with no baseline in {baseline}/ "
                          f"(it holds: {have}); a baseline from another class would read instruction-set differences "
                          f"as regressions. Record this class's with `make bench-baseline` and commit {path}")
    return path


def record_baseline(run: Path, folder: Path = BASELINES) -> Path:
    """Store `run` (a checked pytest-benchmark file) as the baseline of its class of machine: folder/<class>.json."""
    record = read_run(run).record
    path = folder / f"{machine_class(record)}.json"
    write_json(path, record)
    return path


def median_run(paths: list[Path]) -> dict:
    """One pytest-benchmark record from several runs of the suite: each benchmark's entry is taken whole from
    the run whose normalised figure is the median (the lower middle for an even count). A figure from one run
    swings with that process's luck (a sub-millisecond benchmark by up to 60% here); the median of three does not."""
    if not paths:
        raise ConfigError("bench-median needs at least one pytest-benchmark JSON file")
    runs = [read_run(p) for p in paths]  # each file read once
    entries = []
    for bench in runs[0].record["benchmarks"]:
        name = bench["name"]
        ranked = sorted((run.figure(name), i) for i, run in enumerate(runs) if name in run.seconds)
        middle = ranked[(len(ranked) - 1) // 2][1]
        entries.append(next(b for b in runs[middle].record["benchmarks"] if b["name"] == name))
    return {**runs[0].record, "benchmarks": entries, "median_of": [str(p) for p in paths]}


def compare(current: Path, baseline: Path, runs: tuple[list[Path], list[Path]] | None = None) -> list[Comparison]:
    """Every benchmark present in both files, in the baseline's order, each in the calibration unit they share;
    with `runs` (the runs `current` and `baseline` are the medians of), each with the rank test of its runs."""
    now, before = read_run(current), read_run(baseline)
    units = {name: now.common_unit(before, name) for name in before.seconds if name in now.seconds}
    p_slower = _rank_tests(*runs, units) if runs else {}
    return [Comparison(name, before.figure(name, unit), now.figure(name, unit), now.seconds[name], p_slower.get(name),
                       unit, now.own_unit(name)) for name, unit in units.items()]


def _rank_tests(current: list[Path], baseline: list[Path], units: dict[str, str]) -> dict[str, float]:
    """Per benchmark in every run: p that the current runs are slower than the baseline's, in its unit of `units`;
    empty where so few runs cannot reach ALPHA."""
    if 1 / math.comb(len(current) + len(baseline), len(current)) > ALPHA:
        return {}
    now, before = ([read_run(p) for p in paths] for paths in (current, baseline))
    names = [name for name in units if all(name in run.seconds for run in [*now, *before])]
    return {name: p_greater([r.figure(name, units[name]) for r in now], [r.figure(name, units[name]) for r in before])
            for name in names}


def regressions(rows: list[Comparison], tolerance: float = TOLERANCE) -> list[Comparison]:
    return [r for r in rows if r.regressed(tolerance)]


def comparison_table(rows: list[Comparison], tolerance: float = TOLERANCE) -> str:
    """Markdown: each benchmark's seconds, its calibration-unit figures then and now, and a verdict."""
    def verdict(r: Comparison) -> str:
        return ("REGRESSED" if r.regressed(tolerance) else
                f"ok (runs overlap: p = {r.p_slower:.2f})" if r.change > tolerance else "ok")

    cells = [[r.name, f"{r.seconds * 1000:.2f} ms", r.unit, f"{r.current:.2f}", f"{r.baseline:.2f}", f"{r.change:+.0%}",
              verdict(r)] for r in rows]
    return "\n".join(markdown_table(["benchmark", "median now", "calibration kernel", "now (its units)", "baseline",
                                      "change", "verdict"], cells))


def bench_lines(rows: list[Comparison], current: Path, baseline: Path, command: str,
                tolerance: float = TOLERANCE) -> list[str]:
    """Markdown: the machine (as pytest-benchmark recorded it), the command, the baseline, what the units mean,
    the table."""
    info = json.loads(Path(current).read_text()).get("machine_info", {})
    cpu = info.get("cpu", {})
    machine = (f"{cpu.get('brand_raw', info.get('processor', '?'))}, {cpu.get('count', '?')} logical cores, "
               f"{info.get('system', '?')} {info.get('release', '')}, Python {info.get('python_version', '?')}"
               + (f", CUDA device {info['cuda_device']}" if info.get("cuda_device") else ""))
    return [f"Measured on {machine}, by `{command}`; compared with `{baseline}`.", "",
            f"Medians of pytest-benchmark rounds; calibration units divide each by the median of its calibration "
            f"kernel (harness.perf's calibration: fixed code sharing the benchmark's bottleneck), timed between its rounds on "
            f"the same device. A change above +{tolerance:.0%} fails `make bench-check`.",
            *matmul_fallback_lines(rows), *ungated_lines(current, baseline), "", comparison_table(rows, tolerance)]


def matmul_fallback_lines(rows: list[Comparison]) -> list[str]:
    """A line naming the rows compared in matmul units because the baseline lacks their own kernel."""
    older = [r.name for r in rows if r.unit != r.own_unit]
    return [f"{', '.join(older)}: in matmul units, as the baseline was recorded before the per-benchmark kernels; "
            f"the matmul evens out hosts less well. A committed baseline is re-recorded on its class of machine with "
            f"`make bench-baseline`; a base revision of bench-against has the kernels from 269e783 on."] if older else []


def ungated_lines(current: Path, baseline: Path) -> list[str]:
    """A line naming the benchmarks of `current` that `baseline` lacks: timed, but gated only once the baseline of
    this class of machine is re-recorded with them."""
    new = [name for name in read_run(current).seconds if name not in read_run(baseline).seconds]
    return [f"{', '.join(new)}: not in {baseline}, so not gated here; `make bench-baseline` on this class of machine "
            f"records them (commit the file)"] if new else []


def perf_markdown(rows: list[Comparison], current: Path, baseline: Path, command: str,
                  tolerance: float = TOLERANCE) -> str:
    """`bench-compare --report`: the benchmarks alone, as markdown."""
    return "\n".join(["# Benchmarks", "", *bench_lines(rows, current, baseline, command, tolerance), ""])
