"""Classifier-based measures of generated digits: accuracy, confidence and within-class diversity."""

from __future__ import annotations

import torch
from torch import Tensor

from ..core import CLASSES


def mean_pairwise_distance(features: Tensor, max_items: int = 2000) -> float:
    """Mean L2 distance between distinct pairs of rows (the first `max_items` rows; 0 for fewer than 2)."""
    f = features[:max_items].double()
    n = len(f)
    if n < 2:
        return 0.0
    return float(torch.cdist(f, f).sum() / (n * (n - 1)))


def intended_class_scores(probs: Tensor, labels: Tensor) -> tuple[Tensor, Tensor]:
    """Per sample (N,): 1.0 where the classifier's top class is the intended digit, and its probability of it."""
    return (probs.argmax(1) == labels).double(), probs.gather(1, labels[:, None])[:, 0].double()


def class_metrics(probs: Tensor, features: Tensor, labels: Tensor, real_features: Tensor,
                  real_labels: Tensor) -> dict[str, object]:
    """Accuracy and confidence of the intended digit, overall and per digit, and per-digit diversity.

    Diversity is the mean pairwise distance of a digit's samples in classifier-feature space;
    `diversity_ratio` divides it by the same for that digit's real images, the eval.reference split (1 = as varied as MNIST).
    """
    correct, confidence = intended_class_scores(probs, labels)
    per_digit: dict[str, dict[str, float]] = {}
    for d in CLASSES:
        mine = labels == d
        if not bool(mine.any()):
            continue
        diversity = mean_pairwise_distance(features[mine])
        real = mean_pairwise_distance(real_features[real_labels == d])
        per_digit[str(d)] = {"class_acc": float(correct[mine].mean()), "confidence": float(confidence[mine].mean()),
                             "diversity": diversity, "diversity_ratio": diversity / real if real else float("nan"),
                             "samples": int(mine.sum())}
    return {"class_acc": float(correct.mean()), "confidence": float(confidence.mean()),
            "diversity": sum(v["diversity"] for v in per_digit.values()) / max(1, len(per_digit)),
            "per_digit": per_digit}
