"""The analysis as tables (pandas): per-digit metrics with intervals and ranks, significant pairs,
recognition curves, the forward direction."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..._util import ConfigError
from ...core import CLASSES
from ._bootstrap import Estimate
from ._estimates import direction
from ._forward import ForwardResult
from ._recognition import step_fractions


def estimate_columns(name: str, e: Estimate) -> dict[str, np.ndarray]:
    low, high = e.interval()
    return {name: e.point, f"{name}_low": low, f"{name}_high": high}


def ranking_metric(estimates: dict[str, Estimate], rank_by: str) -> Estimate:
    """The estimate digits are ranked by, signed so that higher is easier."""
    sign = direction(rank_by)
    if rank_by not in estimates or sign == 0:
        valid = [n for n in estimates if direction(n) != 0]
        raise ConfigError(f"--rank-by {rank_by}: not a difficulty measured here; valid: {', '.join(valid)}")
    e = estimates[rank_by]
    return Estimate(sign * e.point, sign * e.replicates)


Pairs = list[tuple[int, int, float]]  # (easier digit, harder digit, Holm-adjusted p), from significant_pairs


def per_digit_frame(estimates: dict[str, Estimate], ranking: Estimate, pairs: Pairs) -> pd.DataFrame:
    """One row per digit, easiest first by `ranking` (higher = easier): rank, each metric with its 95%
    interval, the digits it is significantly easier / harder than."""
    frame = pd.DataFrame({"digit": list(CLASSES)})
    for name, e in estimates.items():
        for column, values in estimate_columns(name, e).items():
            frame[column] = values
    frame["easier_than"] = [" ".join(str(b) for a, b, _ in pairs if a == d) for d in CLASSES]
    frame["harder_than"] = [" ".join(str(a) for a, b, _ in pairs if b == d) for d in CLASSES]
    frame["rank"] = pd.Series(-ranking.point).rank(method="min").astype(int)
    return frame.sort_values("rank", kind="stable").reset_index(drop=True)


def pairs_frame(pairs: Pairs, rank_by: str) -> pd.DataFrame:
    rows = [{"easier": a, "harder": b, "metric": rank_by, "holm_p": p} for a, b, p in pairs]
    return pd.DataFrame(rows, columns=["easier", "harder", "metric", "holm_p"])


def curves_frame(accuracy: dict[str, Estimate], informedness: dict[str, Estimate], timesteps: np.ndarray) -> pd.DataFrame:
    """Accuracy and informedness along the reverse process: one row per (on, digit, step)."""
    rows = []
    for on, acc in accuracy.items():
        j = informedness[on]
        (low, high), (j_low, j_high) = acc.interval(), j.interval()
        fractions = step_fractions(acc.point.shape[1] - 1)
        ts = [*timesteps.tolist(), -1]  # -1: the finished sample
        for d in CLASSES:
            for k, f in enumerate(fractions):
                rows.append({"on": on, "digit": d, "step": k, "t": ts[k], "fraction_done": f,
                             "accuracy": acc.point[d, k], "low": low[d, k], "high": high[d, k],
                             "informedness": j.point[d, k], "informedness_low": j_low[d, k],
                             "informedness_high": j_high[d, k]})
    return pd.DataFrame(rows)


def forward_frame(forward: ForwardResult) -> pd.DataFrame:
    """Accuracy on noised real digits: one row per (digit or 'all', t)."""
    low, high = forward.accuracy.interval()
    rows = []
    for g, name in enumerate([*map(str, CLASSES), "all"]):
        for k, t in enumerate(forward.timesteps):
            rows.append({"digit": name, "t": t, "t_fraction": forward.t_fraction[k],
                         "noise_std": forward.noise_std[k], "accuracy": forward.accuracy.point[g, k],
                         "low": low[g, k], "high": high[g, k]})
    return pd.DataFrame(rows)
