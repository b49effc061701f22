"""How a measured effect with its 95% interval becomes a verdict, and the effects the claims use."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..._util import mean_ci95
from ..difficulty import percentile_interval

SUPPORTED, CONTRADICTED, INCONCLUSIVE, NOT_MEASURED = "supported", "contradicted", "inconclusive", "not measured"
INVALID = "invalid at this budget"
# A claim about what a design does to generated digits needs networks that draw digits: the best of the compared
# networks' samples must be recognised by the reference classifier at least this often (chance is 10%), else the
# experiment is too small to show anything and its verdict is INVALID, whatever the interval says.
MIN_RECOGNISED = 0.5


@dataclass(frozen=True)
class Finding:
    """What one claim's experiment measured."""

    measure: str  # what the effect is, in words
    effect: float  # the point estimate
    low: float  # 95% interval
    high: float
    verdict: str  # supported | contradicted | inconclusive | not measured | invalid at this budget
    detail: str = ""  # the numbers behind the verdict
    recognised: float = math.nan  # share of the best compared network's samples recognised; nan: no network judged


def floored(finding: Finding) -> Finding:
    """The finding, or INVALID when its networks fall below the validity floor (MIN_RECOGNISED)."""
    if finding.verdict == NOT_MEASURED or math.isnan(finding.recognised) or finding.recognised >= MIN_RECOGNISED:
        return finding
    return dataclasses.replace(finding, verdict=INVALID, detail=(
        f"the best compared network's samples are recognised {finding.recognised:.0%} (chance 10%), below the "
        f"{MIN_RECOGNISED:.0%} floor for a valid experiment; " + finding.detail))


def signed(effect: float, low: float, high: float, expected: int) -> str:
    """The claim predicts an effect of sign `expected`: supported if the interval excludes 0 on that side,
    contradicted if it excludes 0 on the other, else inconclusive."""
    if math.isnan(low) or math.isnan(high):
        return INCONCLUSIVE
    if expected * low > 0 and expected * high > 0:
        return SUPPORTED
    if expected * low < 0 and expected * high < 0:
        return CONTRADICTED
    return INCONCLUSIVE


def within(low: float, high: float, lo: float, hi: float) -> str:
    """The claim gives a range [lo, hi]: supported if the interval lies inside it, contradicted if the
    two do not overlap, else inconclusive."""
    if math.isnan(low) or math.isnan(high):
        return INCONCLUSIVE
    if lo <= low and high <= hi:
        return SUPPORTED
    if high < lo or low > hi:
        return CONTRADICTED
    return INCONCLUSIVE


def interval(replicates: np.ndarray) -> tuple[float, float]:
    """The 95% percentile interval of bootstrap replicates (R,)."""
    low, high = percentile_interval(replicates)
    return float(low), float(high)


def completed(trials: pd.DataFrame) -> pd.DataFrame:
    return trials[trials["state"] == "COMPLETE"] if len(trials) else trials


def paired_difference(trials: pd.DataFrame, factor: str, a: object, b: object,
                      metric: str | list[str]) -> tuple[float, float, float, int]:
    """mean over seeds of metric(a) - metric(b) (trained with the same seed), its Student-t 95% interval
    (stats.mean_ci95) and the number of seeds; a list of metrics is averaged first (e.g. digits 3 and 9)."""
    done = completed(trials)
    metrics = [metric] if isinstance(metric, str) else metric
    if done.empty or not set(metrics) <= set(done.columns):
        return math.nan, math.nan, math.nan, 0
    value = done[metrics].mean(axis=1)
    by_seed = pd.DataFrame({"seed": done["seed"], "level": done[factor].astype(str), "value": value})
    table = by_seed.pivot_table(index="seed", columns="level", values="value")
    if str(a) not in table or str(b) not in table:
        return math.nan, math.nan, math.nan, 0
    diffs = (table[str(a)] - table[str(b)]).dropna().tolist()
    mean, low, high = mean_ci95(diffs)
    return mean, low, high, len(diffs)


def best_recognised(trials: pd.DataFrame, factor: str, levels: tuple[object, ...]) -> float:
    """The highest mean class accuracy over seeds among `levels` of a study's factor (nan if none measured)."""
    done = completed(trials)
    if done.empty or "class_acc" not in done:
        return math.nan
    means = [done.loc[done[factor].astype(str) == str(level), "class_acc"].mean() for level in levels]
    return max((float(m) for m in means if not math.isnan(m)), default=math.nan)


def failures(trials: pd.DataFrame, factor: str, level: object) -> tuple[int, int]:
    """(failed, all) trials at one level of a factor."""
    if trials.empty:
        return 0, 0
    mine = trials[trials[factor].astype(str) == str(level)]
    return int((mine["state"] == "FAIL").sum()), len(mine)
