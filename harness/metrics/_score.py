"""The sample metrics of digits from any generator: `harness score FILE ...` and `harness.score(images, labels)`.

FID, KID, precision/recall, the reference classifier's accuracy, confidence, diversity and class score, and CLIP
need only the digits and their intended labels, so a notebook model or a diffusers pipeline is measured exactly as
a run of this harness is. Intervals come from bootstrap resamplings of the samples within each digit, so every draw
keeps the file's class counts (Efron & Tibshirani 1993): percentile intervals for the per-sample means (accuracy,
confidence); for FID, precision, recall and the class score the standard interval, estimate +- 1.96 bootstrap
standard errors (ch. 13), because a resampling's repeated digits bias those figures themselves (duplicates shrink
k-NN radii and add noise to the covariance), which moves the percentiles off the estimate while their spread stays
a fair measure of the sampling variation.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from .._util import ConfigError
from ..config import RunConfig, resolve_config, with_overrides
from ..core import CLASSES
from ..data import Mnist, load_mnist
from ..runs import checked_samples, load_samples
from ._classes import class_score, intended_class_scores
from ._context import Evaluation
from ._evaluate import computed
from ._fidelity import fidelity
from ._registry import METRICS, SAMPLES

LEVEL = 0.95  # the bootstrap intervals' coverage
MEANS = ("class_acc", "confidence")  # per-sample means: percentile intervals
SET_FIGURES = ("fid", "precision", "recall", "class_score")  # figures of the whole set: standard intervals (see above)
BOUNDS = {"fid": (0.0, float("inf")), "precision": (0.0, 1.0), "recall": (0.0, 1.0),  # where a figure can lie
          "class_score": (1.0, 10.0)}
INTERVAL_KEYS = SET_FIGURES + MEANS  # the overall figures given intervals


def sample_metric_names(metrics: set[str] | None) -> set[str]:
    """`metrics`, or every sample metric computed by default; a metric that needs a network is refused."""
    if metrics is None:
        return {name for name, m in METRICS.items() if m.needs == SAMPLES and m.by_default}
    needing = sorted(name for name in metrics if METRICS.get(name).needs != SAMPLES)
    if needing:
        raise ConfigError(f"{', '.join(needing)} need{'s' if len(needing) == 1 else ''} a trained network, not only "
                          f"samples; `harness evaluate RUN` measures a run of this harness")
    return metrics


def sample_metrics(images: Tensor, labels: Tensor, data: Mnist, cfg: RunConfig, metrics: set[str],
                   bootstrap: int = 0, seed: int = 0) -> dict[str, Any]:
    """The sample `metrics` of uint8 `images` (N, 28, 28) drawn for `labels` (N,), overall and per digit, with
    the sample counts; `bootstrap` > 0 adds LEVEL intervals of INTERVAL_KEYS from that many resamplings."""
    chosen = sample_metric_names(metrics)
    ev = Evaluation(cfg, data, images=images, labels=labels)
    result: dict[str, Any] = {"samples": {"count": len(labels), "per_digit": _counts(labels)},
                              "dataset": cfg.data.dataset, "classes": list(data.classes)}
    result.update(computed(ev, chosen))
    if bootstrap > 0:
        result["intervals"] = bootstrap_intervals(ev, chosen, result, bootstrap, seed)
        result["bootstrap"] = {"draws": bootstrap, "level": LEVEL, "resampled": "samples, within each digit",
                               "percentile": list(MEANS), "standard": list(SET_FIGURES)}
    return result


def score(images: Tensor | np.ndarray, labels: Tensor | np.ndarray | Sequence[int], metrics: set[str] | None = None,
          value_range: tuple[float, float] | None = None, overrides: list[str] | None = None, bootstrap: int = 0,
          seed: int = 0) -> dict[str, Any]:
    """Every sample metric of `images` drawn for `labels`, overall and per digit, as `harness score` computes it.

    images: (N, 28, 28) or (N, 1, 28, 28), uint8, or float in `value_range` ((0, 1) or (-1, 1)), torch or numpy.
    labels: (N,) the digits the images were drawn for.
    metrics: registered sample metrics (default: all but clip, which needs eval.clip_weights).
    overrides: eval.* settings, e.g. ["eval.feature_extractor=inception", "eval.inception_weights=PATH"].
    bootstrap: resamplings for the 95% intervals of INTERVAL_KEYS (0: none).
    """
    digits, digit_labels = checked_samples("images", images, labels, value_range)
    cfg = score_config(overrides)
    return sample_metrics(digits, digit_labels, load_mnist(cfg.data), cfg, metrics, bootstrap, seed)


def score_files(paths: Sequence[Path], metrics: set[str] | None = None,
                value_range: tuple[float, float] | None = None, overrides: list[str] | None = None,
                bootstrap: int = 0, seed: int = 0) -> dict[str, dict[str, Any]]:
    """`score` of each sample file (.npz, .pt or a folder of PNGs), by its path; every file is read and checked
    before any is measured, so a bad one fails in a moment."""
    sample_metric_names(metrics)  # a metric that needs a network fails before any file is read
    loaded = {str(p): load_samples(Path(p), value_range) for p in paths}
    for path, (_, labels) in loaded.items():
        if len(labels) < 2:
            raise ConfigError(f"{path} holds {len(labels)} digit(s); FID and the other sample metrics need at least 2")
    cfg = score_config(overrides)
    data = load_mnist(cfg.data)
    return {path: sample_metrics(images, labels, data, cfg, metrics, bootstrap, seed)
            for path, (images, labels) in loaded.items()}


def score_config(overrides: list[str] | None) -> RunConfig:
    """The default config with the caller's data.* (the data set the samples imitate) and eval.* settings (the
    feature extractor, CLIP's weights)."""
    return with_overrides(resolve_config(), overrides or [], ("data", "eval"))


def bootstrap_intervals(ev: Evaluation, metrics: set[str], estimates: dict[str, Any], draws: int,
                        seed: int) -> dict[str, list[float]]:
    """LEVEL intervals of the overall INTERVAL_KEYS that `metrics` computed (their `estimates`), from `draws`
    resamplings of the samples within each digit; the features and class probabilities are the evaluation's own,
    computed once for the metrics and resampled here."""
    _, labels = ev.samples()
    fidelity_metrics = {"fid", "prc"} & metrics
    features = ev.generated_features if fidelity_metrics else None
    per_sample: dict[str, Tensor] = {}  # the per-sample figures whose means are MEANS
    if "class_acc" in metrics:
        per_sample["class_acc"], per_sample["confidence"] = intended_class_scores(ev.predictions[0], labels)
    probs = ev.predictions[0] if "class_score" in metrics else None
    g = torch.Generator().manual_seed(seed)
    by_digit = [torch.nonzero(labels == d)[:, 0] for d in CLASSES]
    drawn: dict[str, list[float]] = {}
    for i in range(draws):
        idx = torch.cat([mine[torch.randint(len(mine), (len(mine),), generator=g)] for mine in by_digit if len(mine)])
        figures: dict[str, float] = {}
        if features is not None:  # the reference subset of precision/recall is drawn anew too
            figures.update(fidelity(features[idx], ev.real_features, fidelity_metrics, seed=seed + i))
        figures.update({key: float(values[idx].mean()) for key, values in per_sample.items()})
        if probs is not None:
            figures["class_score"] = class_score(probs[idx])
        for key in INTERVAL_KEYS:
            if key in figures:
                drawn.setdefault(key, []).append(figures[key])
    tail = (1 - LEVEL) / 2
    z = float(torch.distributions.Normal(0.0, 1.0).icdf(torch.tensor(1 - tail)))
    out = {}
    for key, values in drawn.items():
        if key in MEANS:
            out[key] = [float(np.percentile(values, tail * 100)), float(np.percentile(values, 100 - tail * 100))]
        else:
            half = z * float(np.std(values, ddof=1))
            low, high = BOUNDS[key]
            out[key] = [max(low, estimates[key] - half), min(high, estimates[key] + half)]
    return out


def _counts(labels: Tensor) -> dict[str, int]:
    return {str(d): int((labels == d).sum()) for d in CLASSES if bool((labels == d).any())}
