"""The benchmark gate: `harness bench-compare` (against a committed baseline), `bench-against` (against a base
revision on this machine), `bench-baseline` and `bench-median` (what `make bench-baseline` stores)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from .._util import BASELINES, ConfigError, perf_dir, write_json, write_text

if TYPE_CHECKING:
    from ..perf import Comparison

BENCH_RUNS = 3  # default --runs of bench-against: harness.perf's bench-against RUNS (imported only when that command runs)

# after a failed check against a committed baseline (harness.perf's bench-against says why)
OTHER_HOST_HINT = (". If no code changed, this machine may run a benchmark and its calibration kernel at other "
                   "relative speeds than the baseline's host; `make bench-check BASE=<revision>` measures that "
                   "revision here, in turns with this checkout")


def cmd_bench_compare(args: argparse.Namespace) -> int:
    from ..perf import baseline_for, compare

    _check_tolerance(args.tolerance)
    current = Path(args.current)
    baseline = baseline_for(current, Path(args.baseline))
    return _bench_verdict(compare(current, baseline), current, baseline, args, OTHER_HOST_HINT)


def cmd_bench_against(args: argparse.Namespace) -> int:
    from ..perf import AGAINST_FOLDER, bench_against

    _check_tolerance(args.tolerance)
    m = bench_against(args.rev, perf_dir(Path(args.results)) / AGAINST_FOLDER, args.runs, args.device, args.k)
    return _bench_verdict(m.rows(), m.head, m.base, args)


def cmd_bench_baseline(args: argparse.Namespace) -> int:
    from ..perf import record_baseline

    print(f"-> {record_baseline(Path(args.run), Path(args.into))} (commit it: bench-check compares this class of "
          f"machine with it)")
    return 0


def cmd_bench_median(args: argparse.Namespace) -> int:
    from ..perf import median_run

    write_json(Path(args.out), median_run([Path(p) for p in args.runs]))
    print(f"-> {args.out} (each benchmark from the run with its median figure, of {len(args.runs)})")
    return 0


def _check_tolerance(tolerance: float) -> None:
    if tolerance <= 0:
        raise ConfigError(f"--tolerance must be > 0 (0.25 = 25% slower fails), got {tolerance}")


def _bench_verdict(rows: list[Comparison], current: Path, baseline: Path, args: argparse.Namespace,
                   hint: str = "") -> int:
    """Print the table of `current` against `baseline` (and write it to args.report); with args.check, exit
    status 1 when a benchmark regressed, the `hint` after the names."""
    from ..perf import comparison_table, matmul_fallback_lines, perf_markdown, regressions, ungated_lines

    print(f"{current} against {baseline}")
    print(comparison_table(rows, args.tolerance))
    for line in [*matmul_fallback_lines(rows), *ungated_lines(current, baseline)]:  # none where all are in order
        print(line)
    if args.report:
        write_text(args.report, perf_markdown(rows, current, baseline, args.command_name, args.tolerance))
        print(f"-> {args.report}")
    slow = regressions(rows, args.tolerance)
    if slow:
        print(f"{len(slow)} benchmark(s) more than {args.tolerance:.0%} slower than {baseline} in calibration "
              f"units: {', '.join(r.name for r in slow)}{hint}", file=sys.stderr)
        return 1 if args.check else 0
    print(f"no benchmark more than {args.tolerance:.0%} slower than {baseline}")
    return 0


def _add_verdict_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tolerance", type=float, default=0.25, help="relative slow-down that counts as a regression")
    parser.add_argument("--check", action="store_true", help="exit 1 when any benchmark regressed")
    parser.add_argument("--report", help="also write the table with the machine's description to this markdown file")


def register(sub: argparse._SubParsersAction) -> None:
    """Add bench-compare, bench-against, bench-baseline and bench-median to the subcommands."""
    bc = sub.add_parser("bench-compare", help="a pytest-benchmark JSON against the committed baseline, in calibration units")
    bc.add_argument("current", help="the JSON `make bench` wrote (results/perf/bench.json)")
    bc.add_argument("--baseline", default=str(BASELINES),
                    help="a baseline file, or a folder of them, one per class of machine: the run's class picks "
                         "(default: %(default)s)")
    _add_verdict_arguments(bc)
    bc.set_defaults(func=cmd_bench_compare, command_name="make bench")

    ba = sub.add_parser("bench-against", help="the benchmark suite of a base revision and of this checkout, in turns "
                                              "on this machine, compared in calibration units (make bench-check BASE=REV)")
    ba.add_argument("rev", help="the base revision: a branch, tag or commit of this checkout (e.g. origin/main)")
    ba.add_argument("--runs", type=int, default=BENCH_RUNS, help="runs of the suite per revision, medians compared "
                                                                 "(default %(default)s)")
    ba.add_argument("--device", default="cpu", choices=("cpu", "cuda"), help="where the suite's network work runs")
    ba.add_argument("-k", help="only the benchmarks this pytest -k expression picks (e.g. 'train_step or calibration')")
    ba.add_argument("--results", default="results", help="results root: the runs land in its perf/against/")
    _add_verdict_arguments(ba)
    ba.set_defaults(func=cmd_bench_against, command_name="harness bench-against")

    bb = sub.add_parser("bench-baseline", help="store a benchmark run as the committed baseline of its class of machine")
    bb.add_argument("run", help="the run to keep (make bench-baseline: the median of three, results/perf/bench.json)")
    bb.add_argument("--into", default=str(BASELINES), help="the baselines folder (default: %(default)s)")
    bb.set_defaults(func=cmd_bench_baseline)

    bm = sub.add_parser("bench-median", help="several runs of the benchmark suite as one: each benchmark's median run")
    bm.add_argument("runs", nargs="+", help="pytest-benchmark JSON files of the same suite")
    bm.add_argument("--out", required=True, help="where to write the combined JSON (e.g. results/perf/bench.json)")
    bm.set_defaults(func=cmd_bench_median)
