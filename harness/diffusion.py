"""The Gaussian forward process, the network's parametrisation (eps, x0, v) and the training loss."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from .config import DiffusionConfig
from .devices import autocast, memory_format
from .registry import Registry
from .schedules import SCHEDULES


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


PREDICTIONS: Registry[Prediction] = Registry("prediction", "what the network outputs: eps, x0 or v")


class EpsPrediction(Prediction):
    """Ho et al. 2020, eq. 14: predict the noise eps."""

    def target(self, x0: Tensor, eps: Tensor, a: Tensor, s: Tensor) -> Tensor:
        return eps

    def to_x0_eps(self, out: Tensor, x_t: Tensor, a: Tensor, s: Tensor) -> tuple[Tensor, Tensor]:
        return (x_t - s * out) / a, out


class X0Prediction(Prediction):
    """Predict the clean image x0 directly."""

    def target(self, x0: Tensor, eps: Tensor, a: Tensor, s: Tensor) -> Tensor:
        return x0

    def to_x0_eps(self, out: Tensor, x_t: Tensor, a: Tensor, s: Tensor) -> tuple[Tensor, Tensor]:
        return out, (x_t - a * out) / s


class VPrediction(Prediction):
    """Salimans & Ho 2022, sec. 4: predict v = a eps - s x0."""

    def target(self, x0: Tensor, eps: Tensor, a: Tensor, s: Tensor) -> Tensor:
        return a * eps - s * x0

    def to_x0_eps(self, out: Tensor, x_t: Tensor, a: Tensor, s: Tensor) -> tuple[Tensor, Tensor]:
        return a * x_t - s * out, s * x_t + a * out


for _p in (EpsPrediction("eps"), X0Prediction("x0"), VPrediction("v")):
    PREDICTIONS.register(_p.name)(_p)


class Diffusion:
    """The forward process q(x_t | x0) of a schedule, with t = 0..T-1 indexing alpha_bar."""

    def __init__(self, cfg: DiffusionConfig) -> None:
        self.cfg = cfg
        self.timesteps = cfg.timesteps  # T
        self.betas = SCHEDULES.get(cfg.schedule)(cfg.timesteps, cfg.beta_start, cfg.beta_end)  # (T,) float64
        self.alpha_bar = torch.cumprod(1.0 - self.betas, dim=0)  # (T,) float64, decreasing
        self.prediction = PREDICTIONS.get(cfg.prediction)

    def coefficients(self, t: Tensor, like: Tensor) -> tuple[Tensor, Tensor]:
        """a = sqrt(alpha_bar_t), s = sqrt(1 - alpha_bar_t), shaped (B, 1, 1, 1) like `like`."""
        ab = self.alpha_bar.to(like.device)[t].to(like.dtype).view(-1, 1, 1, 1)
        return ab.sqrt(), (1.0 - ab).sqrt()

    def q_sample(self, x0: Tensor, t: Tensor, eps: Tensor) -> Tensor:
        """Ho et al. 2020, eq. 4: x_t = sqrt(alpha_bar_t) x0 + sqrt(1 - alpha_bar_t) eps."""
        a, s = self.coefficients(t, x0)
        return a * x0 + s * eps

    def loss_terms(self, out: Tensor, x0: Tensor, t: Tensor, eps: Tensor) -> Tensor:
        """Per-image MSE between the network output and the parametrisation's target, shape (B,)."""
        a, s = self.coefficients(t, x0)
        target = self.prediction.target(x0, eps, a, s)
        return (out.float() - target).pow(2).flatten(1).mean(1)

    def network_loss(self, model: Callable[[Tensor, Tensor, Tensor], Tensor], x0: Tensor, t: Tensor, eps: Tensor,
                     y: Tensor, precision: torch.dtype | None = None) -> Tensor:
        """`loss_terms` of `model` on x0 noised to step t with `eps` (`q_sample`), the network run under autocast
        to `precision` (None: fp32) in the device's memory format; shape (B,)."""
        x_t = self.q_sample(x0, t, eps).contiguous(memory_format=memory_format(x0.device))  # (B, C, H, W)
        with autocast(x0.device, precision):
            out = model(x_t, t, y)
        return self.loss_terms(out, x0, t, eps)

    @property
    def terminal_signal(self) -> float:
        """sqrt(alpha_bar) at t = T: how much of x0 is left where sampling starts from pure noise."""
        return float(self.alpha_bar[-1].sqrt())
