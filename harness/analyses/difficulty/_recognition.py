"""When does a digit become recognisable? The reference classifier along the reverse process (on x_t and
on the network's predicted x0 at every sampling step) and along the forward process (real digits noised
to t, report 002's experiment)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import Tensor

from ...core import Diffusion, Step
from ...metrics import ReferenceClassifier, predict
from ...runs import to_uint8
from ._bootstrap import Resampler, curve_statistic, stacked

Classify = Callable[[Tensor], Tensor]  # (N, 28, 28) uint8 -> (N,) predicted digit


def classifier_verdicts(classifier: ReferenceClassifier) -> Classify:
    """The reference classifier as a Classify: images (any device) -> its predicted digits (CPU)."""
    def classify(images: Tensor) -> Tensor:
        return predict(classifier, images.cpu())[0].argmax(1)
    return classify


class RecognitionRecorder:
    """A sampler trajectory that keeps only the classifier's verdicts on x_t and predicted x0 at each step.

    `generate` draws in batches and reports every step of batch 1, then of batch 2, ...; `steps` says
    how many reports make one batch.
    """

    def __init__(self, classify: Classify, steps: int) -> None:
        self.classify = classify  # images -> predicted digits
        self.steps = steps  # sampler steps per batch
        self.timesteps: list[int] = []  # t of each step (of the first batch)
        self._on_xt: list[Tensor] = []  # (B,) predictions, in report order
        self._on_x0: list[Tensor] = []

    def append(self, step: Step, /) -> None:
        if len(self.timesteps) < self.steps:
            self.timesteps.append(step.t)
        self._on_xt.append(self.classify(to_uint8(step.x_t.clamp(-1, 1))).cpu())
        self._on_x0.append(self.classify(to_uint8(step.x0)).cpu())

    def predictions(self, final: Tensor) -> tuple[Tensor, Tensor]:
        """(S + 1, N) predictions on x_t and on predicted x0; row S is the finished sample's (`final`, (N,))."""
        return self._by_step(self._on_xt, final), self._by_step(self._on_x0, final)

    def _by_step(self, reports: list[Tensor], final: Tensor) -> Tensor:
        batches = [torch.stack(reports[i:i + self.steps]) for i in range(0, len(reports), self.steps)]  # (S, B) each
        return torch.cat([torch.cat(batches, 1), final[None].cpu()])


def step_fractions(steps: int) -> np.ndarray:
    """(S + 1,) how much of the reverse process is done when step i's input is seen: i / S; 1 = finished."""
    return np.arange(steps + 1) / steps


def called_rates(predicted: np.ndarray, labels: np.ndarray, classes: Sequence[int],
                 resampler: Resampler) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Along K steps of predictions `predicted` (N, K) on samples of `labels` (N,), per class c: the hit rate
    (share of class-c samples called c) and the false-alarm rate (share of the other samples called c).

    Returns (points (C, K), replicates (C, K, R)) for each, all from one resample stratified by class, so
    that hit - false alarm (Youden's J, 1950) is resampled consistently.
    """
    weights = resampler.stratified_weights(labels, classes)  # (R, N)
    hits, alarms = [], []
    for c in classes:
        called, mine = predicted == c, labels == c  # (N, K), (N,)
        for rates, rows in ((hits, mine), (alarms, ~mine)):
            point, replicate = curve_statistic(called[rows])
            rates.append((point, replicate(weights[:, rows]).T))  # (K,), (K, R)
    return stacked(hits), stacked(alarms)


def first_reach(curves: np.ndarray, fractions: np.ndarray, level: np.ndarray) -> np.ndarray:
    """Per row of `curves` (..., K): the fraction from which on the curve stays at or above `level` (...,),
    linearly interpolated within the step where it last crosses; NaN if its last point is below or the
    level is NaN.

    "Stays" matters: the classifier calls pure noise some digit, so that digit's curve can start high,
    dip while shapes form, and only later become recognisable for good.
    """
    below = curves < level[..., None]
    k = curves.shape[-1]
    last_below = np.where(below.any(-1), k - 1 - np.argmax(below[..., ::-1], axis=-1), -1)  # (...,)
    out = np.full(curves.shape[:-1], np.nan)
    never = last_below == -1  # at or above the level from the start
    out[never] = fractions[0]
    crossing = (last_below >= 0) & (last_below < k - 1)
    idx = np.nonzero(crossing)
    i = last_below[idx]
    before, after = curves[idx + (i,)], curves[idx + (i + 1,)]
    share = (level[idx] - before) / (after - before)  # after >= level > before, so after > before
    out[idx] = fractions[i] + share * (fractions[i + 1] - fractions[i])
    out[np.isnan(level)] = np.nan
    return out


def relative_levels(curves: np.ndarray, threshold: float) -> np.ndarray:
    """The level `threshold` x the finished samples' value (the curve's last point), per row; NaN where
    that value is not above 0: a digit the finished samples do not show is never recognisable."""
    final = curves[..., -1]
    return np.where(final > 0, threshold * final, np.nan)


@torch.inference_mode()
def noised_predictions(classify: Classify, images: Tensor, diffusion: Diffusion, ts: list[float],
                       generator: torch.Generator) -> Tensor:
    """(len(ts), N) predictions on real digits (N, 1, H, W) in [-1, 1] noised to each time by q(x_t | x_0)
    (Ho et al. 2020, eq. 4), in the variance-preserving view (edm's x0 + sigma eps divided by its scale), clipped
    to the pixel range as a viewer would see them."""
    out = []
    for t in ts:
        time = diffusion.at(t, len(images))
        x_t = diffusion.q_sample(images, time, torch.randn(images.shape, generator=generator))
        x_t = x_t / diffusion.variance_preserving(time[:1])[1].float()  # vp's scale is exactly 1
        out.append(classify(to_uint8(x_t.clamp(-1, 1))))
    return torch.stack(out)

