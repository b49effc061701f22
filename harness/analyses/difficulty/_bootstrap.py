"""A two-level bootstrap over training seeds and the samples within each seed (Davison & Hinkley 1997, sec. 3.8).

Every statistic is first computed per seed (a digit's accuracy among that seed's samples, its diversity,
...). A replicate resamples each seed's samples with replacement, recomputes the statistic, then draws
the seeds themselves with replacement and averages their replicates. One seed draw is shared by all
digits and metrics of an analysis, so differences between digits are paired by trained network.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

REPLICATES = 1000  # bootstrap replicates per statistic
LEVEL = 0.95  # two-sided coverage of every interval


@dataclass(frozen=True)
class Estimate:
    """A statistic per digit over seeds: the point value and its bootstrap replicates."""

    point: np.ndarray  # (D,) mean over seeds of the per-seed statistic; (D, K) for curves over K steps
    replicates: np.ndarray  # (D, R) the same mean under each bootstrap replicate; (D, K, R) for curves

    def interval(self) -> tuple[np.ndarray, np.ndarray]:
        """Percentile interval per digit (and step), NaN where the statistic is undefined."""
        return percentile_interval(self.replicates, axis=-1)


def percentile_interval(replicates: np.ndarray, axis: int = -1) -> tuple[np.ndarray, np.ndarray]:
    """The LEVEL percentile interval of bootstrap replicates along `axis`, NaN replicates left out."""
    tail = 100 * (1 - LEVEL) / 2
    with warnings.catch_warnings():  # an undefined statistic (all replicates NaN) gives a NaN interval
        warnings.simplefilter("ignore", RuntimeWarning)
        low, high = np.nanpercentile(replicates, [tail, 100 - tail], axis=axis)
    return low, high


class Resampler:
    """Draws the replicate indices: one seed draw (R, S) for everything, sample draws per call."""

    def __init__(self, seeds: int, replicates: int = REPLICATES, seed: int = 0) -> None:
        self.rng = np.random.default_rng(seed)
        self.replicates = replicates
        self.seed_draw = self.rng.integers(0, seeds, size=(replicates, seeds))  # (R, S)

    def sample_weights(self, n: int) -> np.ndarray:
        """(R, n) how often each of n samples is drawn in each replicate (multinomial counts)."""
        return self.rng.multinomial(n, np.full(n, 1.0 / n), size=self.replicates).astype(np.float64)

    def stratified_weights(self, labels: np.ndarray, classes: Sequence[int]) -> np.ndarray:
        """(R, N) resampling counts drawn within each class of `labels` (N,) on its own, so that every
        replicate keeps each class's sample count; the draws are those of `sample_weights` per class in turn."""
        weights = np.zeros((self.replicates, len(labels)))
        for c in classes:
            mine = labels == c
            weights[:, mine] = self.sample_weights(int(mine.sum()))
        return weights

    def combine(self, per_seed_point: np.ndarray, per_seed_reps: np.ndarray) -> Estimate:
        """(S, D) points and (S, D, R) within-seed replicates -> an Estimate over resampled seeds."""
        r = np.arange(self.replicates)
        drawn = per_seed_reps[self.seed_draw, :, r[:, None]]  # (R, S, D)
        with warnings.catch_warnings():  # a statistic undefined in every seed stays NaN, silently
            warnings.simplefilter("ignore", RuntimeWarning)
            return Estimate(np.nanmean(per_seed_point, 0), np.nanmean(drawn, 1).T)


PerSample = Callable[[np.ndarray], np.ndarray]  # (R, n) weights -> (R,) statistic


def mean_statistic(values: np.ndarray) -> tuple[float, PerSample]:
    """The mean of per-sample `values` (n,) and its value under resampling weights."""
    values = values.astype(np.float64)
    return float(values.mean()) if len(values) else np.nan, lambda w: w @ values / w.sum(1)


def curve_statistic(values: np.ndarray) -> tuple[np.ndarray, Callable[[np.ndarray], np.ndarray]]:
    """The mean curve of per-sample curves `values` (n, K) and its (R, K) value under resampling weights."""
    values = values.astype(np.float64)
    return values.mean(0), lambda w: (w @ values) / w.sum(1, keepdims=True)


def group_curves(correct: np.ndarray, groups: Sequence[np.ndarray], resampler: Resampler) -> tuple[np.ndarray, np.ndarray]:
    """Mean curves of per-sample curves `correct` (N, K) within each boolean mask of `groups`, and their
    replicates under resampling of each group's samples: (G, K) and (G, K, R)."""
    curves = []
    for mine in groups:
        point, replicate = curve_statistic(correct[mine])
        curves.append((point, replicate(resampler.sample_weights(int(mine.sum()))).T))  # (K,), (K, R)
    return stacked(curves)


def stacked(estimates: Sequence[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """(point, replicates) pairs -> (stacked points, stacked replicates), a new leading axis on each."""
    return np.stack([point for point, _ in estimates]), np.stack([reps for _, reps in estimates])


def pairwise_mean_statistic(distances: np.ndarray) -> tuple[float, PerSample]:
    """Mean distance between distinct samples (n, n); resampled copies of one sample never pair up
    (a pair of copies would add a spurious zero and bias the replicates down)."""
    n = len(distances)
    point = float(distances.sum() / (n * (n - 1))) if n > 1 else np.nan

    def replicate(w: np.ndarray) -> np.ndarray:
        total = np.einsum("ri,ij,rj->r", w, distances, w)
        pairs = w.sum(1) ** 2 - (w**2).sum(1)
        with np.errstate(all="ignore"):
            return total / pairs
    return point, replicate


def seed_estimate(resampler: Resampler, per_seed: Sequence[Sequence[tuple[float, PerSample, int]]]) -> Estimate:
    """per_seed[s][d] = (point, replicate function, sample count) -> the two-level Estimate."""
    points = np.array([[p for p, _, _ in seed] for seed in per_seed], dtype=np.float64)  # (S, D)
    reps = np.stack([np.stack([f(resampler.sample_weights(n)) if n > 1 else np.full(resampler.replicates, p)
                               for p, f, n in seed]) for seed in per_seed])  # (S, D, R)
    return resampler.combine(points, reps)


def significant_pairs(estimate: Estimate, alpha: float = 1 - LEVEL) -> list[tuple[int, int, float]]:
    """(a, b, adjusted p) for digit pairs whose difference is significant, a the higher one.

    Two-sided bootstrap p-value of the paired difference, Holm (1979) step-down over all pairs.
    """
    d = len(estimate.point)
    tests = []
    for a in range(d):
        for b in range(a + 1, d):
            diff = estimate.replicates[a] - estimate.replicates[b]
            diff = diff[np.isfinite(diff)]
            if len(diff) == 0:
                continue
            p = min(1.0, 2 * min(np.mean(diff <= 0), np.mean(diff >= 0)))
            high, low = (a, b) if estimate.point[a] >= estimate.point[b] else (b, a)
            tests.append((p, high, low))
    tests.sort()
    out, running = [], 0.0
    for k, (p, high, low) in enumerate(tests):
        running = max(running, min(1.0, p * (len(tests) - k)))  # Holm's adjusted p, kept monotone
        if running >= alpha:
            break
        out.append((high, low, running))
    return out


def contrast(estimate: Estimate, group: Sequence[int], others: Sequence[int]) -> tuple[float, float, float]:
    """(mean of `group` - mean of `others`, CI low, CI high) over digits, from the paired replicates."""
    point = float(np.mean(estimate.point[list(group)]) - np.mean(estimate.point[list(others)]))
    low, high = percentile_interval(estimate.replicates[list(group)].mean(0) - estimate.replicates[list(others)].mean(0))
    return point, float(low), float(high)
