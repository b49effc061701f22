"""Per-digit difficulty: which digits a trained configuration generates well, when each becomes
recognisable along the reverse process, and the fidelity-diversity frontier over guidance."""

from ._bootstrap import Estimate, Resampler, contrast, pairwise_mean_statistic, percentile_interval, significant_pairs
from ._config import DifficultyConfig
from ._estimates import recognition_estimates
from ._forward import ForwardResult, forward_recognition
from ._recognition import called_rates, first_reach, relative_levels, step_fractions
from ._report import write_difficulty
from ._run import DifficultyResult, run_difficulty

__all__ = ["called_rates", "contrast", "DifficultyConfig", "DifficultyResult", "Estimate", "first_reach",
           "forward_recognition", "ForwardResult", "pairwise_mean_statistic", "percentile_interval",
           "recognition_estimates", "relative_levels", "Resampler", "run_difficulty", "significant_pairs",
           "step_fractions", "write_difficulty"]
