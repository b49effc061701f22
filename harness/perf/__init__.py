"""The performance report: benchmarks, a train step's GFLOP/s, the peer comparison and the sampler study,
gathered with their machine and command into results/perf/report.md."""

from ._bench import (
    CALIBRATION_KEY,
    KERNEL_KEY,
    MATMUL,
    MATMUL_KEY,
    Comparison,
    baseline_for,
    bench_lines,
    compare,
    comparison_table,
    machine_class,
    matmul_fallback_lines,
    median_run,
    perf_markdown,
    record_baseline,
    regressions,
    ungated_lines,
)
from ._bench_against import AGAINST_FOLDER, bench_against
from ._calibration import CALIBRATION_N, KERNELS, Calibration, calibration_operands
from ._interval import INTERVAL_STUDY, interval_rows
from ._report import write_perf_report
from ._sampler import SAMPLER_STUDY, sampler_goal, sampler_rows
from ._speedfile import PROFILE_FILE, SPEED_FILE, save_train_speed

__all__ = ["AGAINST_FOLDER", "CALIBRATION_KEY", "CALIBRATION_N", "INTERVAL_STUDY", "KERNEL_KEY", "KERNELS", "MATMUL",
           "MATMUL_KEY", "PROFILE_FILE", "SAMPLER_STUDY", "SPEED_FILE", "baseline_for", "bench_against", "bench_lines",
           "Calibration", "calibration_operands", "compare", "Comparison", "comparison_table", "interval_rows",
           "machine_class", "matmul_fallback_lines", "median_run", "perf_markdown", "record_baseline", "regressions",
           "sampler_goal", "sampler_rows", "save_train_speed", "ungated_lines", "write_perf_report"]
