"""Means with 95% confidence intervals over seeds (Student's t), and a rank test of two small samples."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

# Two-sided 95% critical values of Student's t for 1..30 degrees of freedom; beyond, the normal 1.96.
T_975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
         2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042)


def mean_ci95(values: Sequence[float]) -> tuple[float, float, float]:
    """(mean, low, high): mean +- t_{0.975, n-1} * s / sqrt(n); with one value the interval is unknown (nan)."""
    xs = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    n = len(xs)
    if n == 0:
        return math.nan, math.nan, math.nan
    mean = sum(xs) / n
    if n == 1:
        return mean, math.nan, math.nan
    sd = math.sqrt(sum((x - mean) ** 2 for x in xs) / (n - 1))
    t = T_975[n - 2] if n - 1 <= len(T_975) else 1.96
    half = t * sd / math.sqrt(n)
    return mean, mean - half, mean + half


def interval_text(value: float, low: float, high: float) -> str:
    """'v [low, high]' to 3 significant digits; '-' for no value, the value alone when its interval is unknown."""
    if math.isnan(value):
        return "-"
    return f"{value:.3g} [{low:.3g}, {high:.3g}]" if not math.isnan(low) else f"{value:.3g}"


def p_greater(xs: Sequence[float], ys: Sequence[float]) -> float:
    """One-sided exact p-value that `xs` tend to exceed `ys`: the Mann-Whitney U statistic (Mann & Whitney 1947,
    U = pairs x > y, ties 1/2) against all splits of the pooled values into groups of their sizes. With 3 and 3 the
    smallest p is 1/20, reached only when every x exceeds every y."""
    pooled = [*xs, *ys]

    def u(group: Sequence[int]) -> float:
        chosen = set(group)
        rest = [pooled[j] for j in range(len(pooled)) if j not in chosen]
        return sum((x > y) + 0.5 * (x == y) for x in (pooled[i] for i in group) for y in rest)

    observed = u(range(len(xs)))
    splits = list(itertools.combinations(range(len(pooled)), len(xs)))
    return sum(u(split) >= observed - 1e-9 for split in splits) / len(splits)
