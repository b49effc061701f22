"""Per-digit estimates with bootstrap intervals from the per-seed measures: accuracy, confidence, diversity,
FID, CLIP, and how far into the reverse process each digit becomes recognisable."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from ...core import CLASSES
from ...metrics import HIGHER, LOWER, better, fidelity, mean_pairwise_distance
from ._bootstrap import Estimate, Resampler, mean_statistic, pairwise_mean_statistic, seed_estimate, stacked
from ._measure import Measure
from ._recognition import called_rates, first_reach, relative_levels, step_fractions

# the per-digit figures this analysis estimates; informedness (Youden's J of the classifier per digit) is its own
ESTIMATED = ("class_acc", "informedness", "confidence", "fid", "clip_score", "clip_zero_shot_acc", "clip_preference",
             "diversity")
RECOGNISED = "recognised_{on}_{pct}"  # column: step fraction from which informedness on x_t / x0 stays >= pct% of the final


def direction(metric: str) -> int:
    """+1 if a higher `metric` means an easier digit, -1 if lower does (FID, recognised later), 0 if neither."""
    if metric == "informedness":
        return HIGHER
    return LOWER if metric.startswith("recognised_") else better(metric)


def rankable(thresholds: tuple[float, ...]) -> list[str]:
    """The per-digit metrics an analysis with these recognition thresholds can rank digits by."""
    recognised = [RECOGNISED.format(on=on, pct=round(100 * t)) for on in ("xt", "x0") for t in thresholds]
    return [m for m in ESTIMATED if direction(m)] + recognised


def digit_fidelity(m: Measure, d: int, real_features: Tensor, real_labels: Tensor, metrics: set[str]) -> dict[str, float]:
    """torch-fidelity figures (harness.metrics.fidelity) of one seed's digit-d samples against the real test digits d."""
    return fidelity(m["fidelity_features"][m["labels"] == d], real_features[real_labels == d], metrics)


def per_sample_estimates(measures: list[Measure], resampler: Resampler) -> dict[str, Estimate]:
    """Means of per-sample values per digit: accuracy, confidence and, when measured, CLIP score and zero-shot accuracy."""
    columns = {"class_acc": "correct", "confidence": "confidence", "clip_score": "clip_score",
               "clip_zero_shot_acc": "clip_zero_shot", "clip_preference": "clip_preference"}
    out = {}
    for name, key in columns.items():
        if all(key in m for m in measures):
            out[name] = seed_estimate(resampler, [[_with_n(mean_statistic(_np(m[key][m["labels"] == d])), m, d)
                                                   for d in CLASSES] for m in measures])
    return out


def diversity_estimate(measures: list[Measure], real_features: Tensor, real_labels: Tensor,
                       resampler: Resampler) -> Estimate:
    """Mean pairwise distance of a digit's samples in classifier-feature space over the same for real
    digits (1 = as varied as MNIST), resampled without pairing a sample with its own copy."""
    real = np.array([mean_pairwise_distance(real_features[real_labels == d]) for d in CLASSES])
    per_seed = []
    for m in measures:
        row = []
        for d in CLASSES:
            f = m["features"][m["labels"] == d].double()
            point, reps = pairwise_mean_statistic(torch.cdist(f, f).numpy())
            row.append((point / real[d], lambda w, reps=reps, r=real[d]: reps(w) / r, len(f)))
        per_seed.append(row)
    return seed_estimate(resampler, per_seed)


def seed_level_estimate(values: np.ndarray, resampler: Resampler) -> Estimate:
    """(S, D) per-seed statistics that are not resampled within a seed (FID, recall: copies would bias
    them), bootstrapped over seeds only."""
    reps = np.repeat(values[:, :, None], resampler.replicates, axis=2)
    return resampler.combine(values, reps)


def fid_per_digit(measures: list[Measure], real_features: Tensor, real_labels: Tensor) -> np.ndarray:
    """(S, D) FID of each seed's digit-d samples against the real test digits d (torch-fidelity)."""
    return np.array([[digit_fidelity(m, d, real_features, real_labels, {"fid"})["fid"] for d in CLASSES] for m in measures])


def recognition_estimates(measures: list[Measure], resampler: Resampler, thresholds: tuple[float, ...]
                          ) -> tuple[dict[str, Estimate], dict[str, Estimate], dict[str, Estimate]]:
    """Along the reverse process per digit, on x_t and on the predicted x0: the classifier's accuracy, its
    informedness (Youden's J: accuracy minus the share of other digits' samples called this digit), and
    the step fraction from which informedness stays at or above each threshold x its finished value;
    `reached` also holds the finished samples' informedness per digit.

    Informedness, not accuracy, marks recognition: the classifier calls pure noise one digit, whose
    accuracy is therefore high from the first step, while its J is 0 there (called whatever it shows).
    """
    accuracy, informedness, reached = {}, {}, {}
    for on in ("xt", "x0"):
        accuracy[on], informedness[on] = _curve_estimates(measures, f"on_{on}", resampler)  # (D, K), (D, K, R)
        j = informedness[on]
        fractions = step_fractions(j.point.shape[1] - 1)
        reps = np.moveaxis(j.replicates, 2, 1)  # (D, R, K)
        for threshold in thresholds:
            point = first_reach(j.point, fractions, relative_levels(j.point, threshold))
            reached[RECOGNISED.format(on=on, pct=round(100 * threshold))] = Estimate(
                point, first_reach(reps, fractions, relative_levels(reps, threshold)))
    final = informedness["xt"]  # its last step is the finished samples (the same on x_t and x0)
    reached["informedness"] = Estimate(final.point[:, -1], final.replicates[:, -1])
    return accuracy, informedness, reached


def _curve_estimates(measures: list[Measure], key: str, resampler: Resampler) -> tuple[Estimate, Estimate]:
    """Accuracy and informedness curves with replicates, each (digit, step) one statistic of a shared resample."""
    hits, alarms = zip(*(called_rates(m[key].numpy().T, m["labels"].numpy(), CLASSES, resampler) for m in measures))
    (hit_points, hit_reps), (alarm_points, alarm_reps) = stacked(hits), stacked(alarms)  # (S, D, K), (S, D, K, R)
    return (_over_seeds(hit_points, hit_reps, resampler),
            _over_seeds(hit_points - alarm_points, hit_reps - alarm_reps, resampler))


def _over_seeds(points: np.ndarray, reps: np.ndarray, resampler: Resampler) -> Estimate:
    """(S, D, K) per-seed curves and (S, D, K, R) their replicates -> an Estimate of (D, K) curves."""
    s, d, k = points.shape
    flat = resampler.combine(points.reshape(s, d * k), reps.reshape(s, d * k, -1))
    return Estimate(flat.point.reshape(d, k), flat.replicates.reshape(d, k, -1))


def _with_n(stat: tuple, m: Measure, d: int) -> tuple:
    return (*stat, int((m["labels"] == d).sum()))


def _np(t: Tensor) -> np.ndarray:
    return t.double().numpy()
