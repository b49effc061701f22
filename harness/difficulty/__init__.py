"""Per-digit difficulty: which digits a trained configuration generates well, when each becomes
recognisable along the reverse process, and the fidelity-diversity frontier over guidance."""

from ._bootstrap import Estimate, Resampler, contrast, percentile_interval, significant_pairs
from ._config import DifficultyConfig
from ._report import write_difficulty
from ._run import DifficultyResult, run_difficulty

__all__ = ["DifficultyConfig", "DifficultyResult", "Estimate", "Resampler", "contrast", "percentile_interval", "run_difficulty",
           "significant_pairs", "write_difficulty"]
