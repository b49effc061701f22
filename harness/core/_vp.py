"""`vp`: the discrete variance-preserving process of DDPM (Ho et al. 2020), the harness's first formulation."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import Tensor

from ._predictions import PREDICTIONS
from ._process import FORMULATIONS, Diffusion
from ._samplers import TimeRange
from ._schedules import SCHEDULES

if TYPE_CHECKING:
    from ..config import DiffusionConfig


@FORMULATIONS.register("vp")
class VPDiffusion(Diffusion):
    """q(x_t | x0) = N(sqrt(alpha_bar_t) x0, (1 - alpha_bar_t) I) at integer steps t = 0..T-1 (Ho et al. 2020,
    eq. 4); the network sees x_t and t unscaled and outputs diffusion.prediction (eps, x0 or v)."""

    summary = "discrete DDPM (Ho et al. 2020): x_t = sqrt(alpha_bar_t) x0 + sqrt(1 - alpha_bar_t) eps, t = 0..T-1"
    continuous = False
    samplers = ("ddim", "ddpm", "dpmpp_2m")
    spacings = ("uniform", "quadratic", "leading", "karras")
    noise_samplings = ("uniform",)

    def __init__(self, cfg: DiffusionConfig) -> None:
        super().__init__(cfg)
        self.betas = SCHEDULES.get(cfg.schedule)(cfg.timesteps, cfg.beta_start, cfg.beta_end)  # (T,) float64
        self.alpha_bar = torch.cumprod(1.0 - self.betas, dim=0)  # (T,) float64, decreasing
        self.prediction = PREDICTIONS.get(cfg.prediction)
        self._sigmas = ((1 - self.alpha_bar) / self.alpha_bar).sqrt()  # (T,) float64, increasing

    def path(self, t: Tensor) -> tuple[Tensor, Tensor]:
        ab = self.alpha_bar.to(t.device)[t.long()]
        return ab.sqrt(), (1 - ab).sqrt()

    # coefficients, variance_preserving, guided_at, forward_grid, buckets and draw_between keep the arithmetic vp had
    # before the other formulations existed (sqrt in the image's dtype, integer steps), so its results do not move.
    def coefficients(self, t: Tensor, like: Tensor) -> tuple[Tensor, Tensor]:
        """a = sqrt(alpha_bar_t), s = sqrt(1 - alpha_bar_t), shaped (B, 1, 1, 1) like `like`."""
        ab = self.alpha_bar.to(like.device)[t.long()].to(like.dtype).view(-1, 1, 1, 1)
        return ab.sqrt(), (1.0 - ab).sqrt()

    def variance_preserving(self, t: Tensor) -> tuple[Tensor, Tensor]:
        return self.alpha_bar[t.long()], torch.ones(len(t), dtype=torch.float64)

    def network_input(self, x_t: Tensor, t: Tensor) -> tuple[Tensor, Tensor]:
        return x_t, t

    def target(self, x0: Tensor, eps: Tensor, t: Tensor) -> Tensor:
        a, s = self.coefficients(t, x0)
        return self.prediction.target(x0, eps, a, s)

    def to_x0_eps(self, out: Tensor, x_t: Tensor, t: Tensor) -> tuple[Tensor, Tensor]:
        a, s = self.coefficients(t, x_t)
        return self.prediction.to_x0_eps(out, x_t, a, s)

    def native_weight(self, snr: Tensor) -> Tensor:
        return self.prediction.native_weight(snr)

    def times(self, n: int, generator: torch.Generator) -> Tensor:
        return torch.randint(0, self.timesteps, (n,), generator=generator)

    def time_range(self) -> TimeRange:
        return TimeRange(0.0, float(self.timesteps - 1), True, lambda t: self._sigmas[t.round().long()],
                         self._nearest_step)

    def _nearest_step(self, sigma: Tensor) -> Tensor:
        """The step whose sigma = sqrt((1 - alpha_bar) / alpha_bar) is nearest in log(sigma)."""
        gaps = (self._sigmas.log()[None, :] - sigma.log()[:, None]).abs()  # (N, T)
        return gaps.argmin(dim=1).double()

    def fraction(self, t: float) -> float:
        return t / self.timesteps

    def time_at(self, fraction: Tensor) -> Tensor:
        return (fraction * self.timesteps).round().clamp(max=self.timesteps - 1)

    def forward_grid(self, points: int) -> list[float]:
        return sorted({round(x) for x in torch.linspace(0, self.timesteps - 1, points, dtype=torch.float64).tolist()})

    def guided_at(self, t: float, interval: tuple[float, ...]) -> bool:
        lo, hi = interval
        return lo * self.timesteps <= t <= hi * self.timesteps

    def buckets(self, count: int) -> list[tuple[float, float]]:
        edges = torch.linspace(0, self.timesteps, count + 1).round().long().tolist()
        return [(lo, hi - 1) for lo, hi in zip(edges[:-1], edges[1:])]  # inclusive integer steps

    def draw_between(self, lo: float, hi: float, n: int, generator: torch.Generator) -> Tensor:
        return torch.randint(int(lo), max(int(hi) + 1, int(lo) + 1), (n,), generator=generator)
