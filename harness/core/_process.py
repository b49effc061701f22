"""The Gaussian forward process q(x_t | x0) of a noise schedule and the training loss."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from .._util import autocast, memory_format
from ._predictions import PREDICTIONS
from ._schedules import SCHEDULES

if TYPE_CHECKING:  # annotations only: the config validates names against this package's registries
    from ..config import DiffusionConfig


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
