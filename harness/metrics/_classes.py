"""Classifier-based measures of generated digits: accuracy, confidence and within-class diversity of the digits
asked for, and for samples asked for no digit (w = 0) whether they are told apart as digits at all."""

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


def class_score(probs: Tensor) -> float:
    """The Inception Score of Salimans et al. (2016) with the reference classifier: exp E_x KL(p(y|x) || p(y)),
    1 (no digit told apart, or every sample the same digit) to 10 (every sample one sure digit, ten equally often)."""
    p = probs.double().clamp_min(1e-12)  # (N, 10)
    marginal = p.mean(0, keepdim=True)  # (1, 10): p(y) over the samples
    return float(((p * (p.log() - marginal.log())).sum(1).mean()).exp())


def digit_metrics(probs: Tensor, real_probs: Tensor, real_labels: Tensor) -> dict[str, float]:
    """Whether the samples are told apart as digits, and in MNIST's proportions, whichever digits they were drawn
    for: for unconditional samples (w = 0), where accuracy against the digit asked for is chance by design.

    `class_score` (`class_score_reference`: the real digits', for scale). `class_kl` is KL(q || r) in nats between
    the histogram q of the samples' top classes and r of the real digits' labels, the mode-coverage measure of Metz
    et al. (2017) on stacked MNIST: 0 when each digit is drawn as often as MNIST holds it.
    A share of confidently classified samples would not do: the classifier calls pure noise an 8 with
    probability above 0.9, as classifiers do far from their data (Nguyen et al. 2015); the score of such a set is 1.
    """
    q = torch.bincount(probs.argmax(1), minlength=len(CLASSES)).double() / len(probs)
    r = torch.bincount(real_labels, minlength=len(CLASSES)).double() / len(real_labels)
    drawn = q > 0
    return {"class_score": class_score(probs), "class_kl": float((q[drawn] * (q[drawn] / r[drawn]).log()).sum()),
            "class_score_reference": class_score(real_probs)}
