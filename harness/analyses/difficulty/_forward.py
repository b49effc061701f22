"""The forward direction (report 002): the reference classifier on real test digits noised to t, and
the noise level at which its accuracy falls to chance."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ...core import CLASSES, Diffusion
from ...data import Split, to_model_range
from ...metrics import ReferenceClassifier
from ._bootstrap import Estimate, Resampler, group_curves
from ._recognition import classifier_verdicts, first_reach, noised_predictions

CHANCE = 0.1  # ten digits


@dataclass(frozen=True)
class ForwardResult:
    timesteps: np.ndarray  # (K,) the times at which real digits were noised (vp: steps t)
    t_fraction: np.ndarray  # (K,) the noise fraction of each (vp: t / T)
    noise_std: np.ndarray  # (K,) sqrt(1 - alpha_bar): the share of the noisy image that is noise
    accuracy: Estimate  # per digit (D = 10 digits + 1 for all together), (D, K) curves
    at_chance: Estimate  # (D,) the first t / T at which accuracy is within the margin of chance (NaN: never)
    margin: float  # "within the margin of chance"


def forward_recognition(classifier: ReferenceClassifier, test: Split, diffusion: Diffusion, points: int,
                        per_class: int, margin: float, replicates: int, seed: int = 0) -> ForwardResult:
    """Noise the first `per_class` test digits of each class to `points` noise levels from the least to the most
    (vp: steps 0 to T-1) and classify them; bootstrap over the digits."""
    pick = torch.cat([torch.nonzero(test.labels == d)[:per_class, 0] for d in CLASSES])
    images, labels = to_model_range(test.images[pick], False), test.labels[pick]
    ts = diffusion.forward_grid(points)
    preds = noised_predictions(classifier_verdicts(classifier), images, diffusion, ts, torch.Generator().manual_seed(seed))
    correct = (preds == labels[None]).numpy().T  # (N, K)
    groups = [labels.numpy() == d for d in CLASSES] + [np.ones(len(labels), bool)]
    accuracy = Estimate(*group_curves(correct, groups, Resampler(1, replicates, seed)))  # (G, K), (G, K, R)
    fraction = np.array([diffusion.fraction(t) for t in ts], dtype=np.float64)
    level = 1 - (CHANCE + margin)  # the error rate that means "at chance"
    at_chance = Estimate(first_reach(1 - accuracy.point, fraction, np.full(len(groups), level)),
                         first_reach(1 - np.moveaxis(accuracy.replicates, 2, 1), fraction,
                                     np.full((len(groups), replicates), level)))
    noise = (1 - diffusion.variance_preserving(torch.tensor(ts))[0]).sqrt().numpy()
    return ForwardResult(np.array(ts), fraction, noise, accuracy, at_chance, margin)
