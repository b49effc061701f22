"""The performance report: benchmarks, a train step's GFLOP/s, the peer comparison and the sampler study,
gathered with their machine and command into results/perf/report.md."""

from ._report import write_perf_report
from ._interval import INTERVAL_STUDY, interval_rows
from ._sampler import SAMPLER_STUDY, sampler_goal, sampler_rows
from ._speedfile import SPEED_FILE, save_train_speed

__all__ = ["INTERVAL_STUDY", "SAMPLER_STUDY", "interval_rows", "SPEED_FILE", "sampler_goal", "sampler_rows", "save_train_speed", "write_perf_report"]
