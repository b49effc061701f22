"""The fidelity-diversity trade-off over the guidance scale w: per digit, classifier accuracy against
within-class diversity and recall (Kynkaanniemi et al. 2019), one point per w."""

from __future__ import annotations

import numpy as np
import pandas as pd
from torch import Tensor

from ...core import CLASSES
from ._bootstrap import Estimate, Resampler
from ._estimates import digit_fidelity, diversity_estimate, per_sample_estimates, seed_level_estimate
from ._measure import Measure


def frontier_estimates(measures: list[Measure], real_features: Tensor, real_labels: Tensor,
                       resampler: Resampler) -> dict[str, Estimate]:
    """At one w: accuracy and diversity (two-level bootstrap), recall and precision (over seeds)."""
    prc = np.array([[_prc(m, d, real_features, real_labels) for d in CLASSES] for m in measures])  # (S, D, 2)
    return {"class_acc": per_sample_estimates(measures, resampler)["class_acc"],
            "diversity": diversity_estimate(measures, real_features, real_labels, resampler),
            "recall": seed_level_estimate(prc[..., 1], resampler),
            "precision": seed_level_estimate(prc[..., 0], resampler)}


def frontier_frame(by_w: dict[float, dict[str, Estimate]]) -> pd.DataFrame:
    """One row per (w, digit) with each metric's point and 95% interval."""
    rows = []
    for w, estimates in by_w.items():
        intervals = {name: e.interval() for name, e in estimates.items()}
        for d in CLASSES:
            row: dict[str, float | int] = {"guidance": w, "digit": d}
            for name, e in estimates.items():
                low, high = intervals[name]
                row.update({name: e.point[d], f"{name}_low": low[d], f"{name}_high": high[d]})
            rows.append(row)
    return pd.DataFrame(rows)


def _prc(m: Measure, d: int, real_features: Tensor, real_labels: Tensor) -> tuple[float, float]:
    out = digit_fidelity(m, d, real_features, real_labels, {"prc"})
    return out["precision"], out["recall"]
