"""What the network outputs (eps, x0 or v) and how that output becomes the (x0, eps) pair."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from .._util import Registry


@dataclass(frozen=True)
class Prediction:
    """One parametrisation of the network output, with a = sqrt(alpha_bar_t), s = sqrt(1 - alpha_bar_t)."""

    name: str

    def target(self, x0: Tensor, eps: Tensor, a: Tensor, s: Tensor) -> Tensor:
        """What the network is trained to output."""
        raise NotImplementedError

    def to_x0_eps(self, out: Tensor, x_t: Tensor, a: Tensor, s: Tensor) -> tuple[Tensor, Tensor]:
        """The (x0, eps) pair implied by network output `out` at x_t = a x0 + s eps."""
        raise NotImplementedError

    def native_weight(self, snr: Tensor) -> Tensor:
        """The weight on ||x0_hat - x0||^2 that plain MSE on this output carries (Kingma & Gao 2023, sec. 2)."""
        raise NotImplementedError


PREDICTIONS: Registry[Prediction] = Registry("prediction", "what the network outputs: eps, x0 or v")


class EpsPrediction(Prediction):
    """Ho et al. 2020, eq. 14: predict the noise eps."""

    def target(self, x0: Tensor, eps: Tensor, a: Tensor, s: Tensor) -> Tensor:
        return eps

    def to_x0_eps(self, out: Tensor, x_t: Tensor, a: Tensor, s: Tensor) -> tuple[Tensor, Tensor]:
        return (x_t - s * out) / a, out

    def native_weight(self, snr: Tensor) -> Tensor:
        return snr  # eps_hat - eps = -(a / s)(x0_hat - x0)


class X0Prediction(Prediction):
    """Predict the clean image x0 directly."""

    def target(self, x0: Tensor, eps: Tensor, a: Tensor, s: Tensor) -> Tensor:
        return x0

    def to_x0_eps(self, out: Tensor, x_t: Tensor, a: Tensor, s: Tensor) -> tuple[Tensor, Tensor]:
        return out, (x_t - a * out) / s

    def native_weight(self, snr: Tensor) -> Tensor:
        return torch.ones_like(snr)


class VPrediction(Prediction):
    """Salimans & Ho 2022, sec. 4: predict v = a eps - s x0."""

    def target(self, x0: Tensor, eps: Tensor, a: Tensor, s: Tensor) -> Tensor:
        return a * eps - s * x0

    def to_x0_eps(self, out: Tensor, x_t: Tensor, a: Tensor, s: Tensor) -> tuple[Tensor, Tensor]:
        return a * x_t - s * out, s * x_t + a * out

    def native_weight(self, snr: Tensor) -> Tensor:
        return snr + 1  # Salimans & Ho 2022, sec. 4: the v loss is the x0 loss weighted by 1 + SNR


for _p in (EpsPrediction("eps"), X0Prediction("x0"), VPrediction("v")):
    PREDICTIONS.register(_p.name)(_p)
