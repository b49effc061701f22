"""`edm`: Karras et al. 2022, 'Elucidating the Design Space of Diffusion-Based Generative Models'."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from ._process import FORMULATIONS, Diffusion
from ._samplers import TimeRange

if TYPE_CHECKING:
    from ..config import DiffusionConfig


@FORMULATIONS.register("edm")
class EDMDiffusion(Diffusion):
    """x = x0 + sigma eps (their Table 1: s(t) = 1, sigma(t) = t), with the preconditioned denoiser
    D(x; sigma) = c_skip x + c_out F(c_in x, c_noise) of their sec. 5 and Table 1; the network is F."""

    summary = "Karras et al. 2022: x = x0 + sigma eps, the network preconditioned by c_skip, c_out, c_in, c_noise"
    samplers = ("heun", "euler", "dpmpp_2m", "ddim", "ddpm")  # the paper's first
    spacings = ("karras",)
    noise_samplings = ("uniform", "lognormal")

    def __init__(self, cfg: DiffusionConfig) -> None:
        super().__init__(cfg)
        self.sigma_min, self.sigma_max = cfg.sigma_min, cfg.sigma_max
        self.sigma_data = cfg.sigma_data  # the data's standard deviation, 0.5 in the paper

    def path(self, t: Tensor) -> tuple[Tensor, Tensor]:
        sigma = t.double()
        return torch.ones_like(sigma), sigma

    def _preconditioning(self, sigma: Tensor, like: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Table 1: c_skip = sd^2 / (sigma^2 + sd^2), c_out = sigma sd / sqrt(sigma^2 + sd^2),
        c_in = 1 / sqrt(sigma^2 + sd^2), each (B, 1, 1, 1) like `like`."""
        sigma = sigma.double().view(-1, 1, 1, 1)
        sd2, total = self.sigma_data**2, sigma.square() + self.sigma_data**2
        c_skip, c_out, c_in = sd2 / total, sigma * self.sigma_data / total.sqrt(), total.rsqrt()
        return tuple(c.to(like.device, like.dtype) for c in (c_skip, c_out, c_in))  # type: ignore[return-value]

    def network_input(self, x_t: Tensor, t: Tensor) -> tuple[Tensor, Tensor]:
        _, _, c_in = self._preconditioning(t, x_t)
        return c_in * x_t, t.double().log().float() / 4  # c_noise = ln(sigma) / 4

    def target(self, x0: Tensor, eps: Tensor, t: Tensor) -> Tensor:
        """F's target (x0 - c_skip x) / c_out (their eq. 8), so that D's error is c_out times F's."""
        c_skip, c_out, _ = self._preconditioning(t, x0)
        x_t = self.q_sample(x0, t, eps)
        return (x0 - c_skip * x_t) / c_out

    def to_x0_eps(self, out: Tensor, x_t: Tensor, t: Tensor) -> tuple[Tensor, Tensor]:
        c_skip, c_out, _ = self._preconditioning(t, x_t)
        x0 = c_skip * x_t + c_out * out.to(x_t.dtype)
        return x0, (x_t - x0) / t.to(x_t.device, x_t.dtype).view(-1, 1, 1, 1)

    def native_weight(self, snr: Tensor) -> Tensor:
        """1 / c_out^2 = (sigma^2 + sd^2) / (sigma sd)^2 = SNR + 1 / sd^2: eq. 8's lambda(sigma) is built in."""
        return snr + 1 / self.sigma_data**2

    def times(self, n: int, generator: torch.Generator) -> Tensor:
        """ln sigma uniform over [ln sigma_min, ln sigma_max] (the variance-exploding SDE's sigmas, Song et al. 2021)."""
        return self.time_at(torch.rand(n, generator=generator, dtype=torch.float64))

    def time_range(self) -> TimeRange:
        return TimeRange(self.sigma_min, self.sigma_max, False, lambda t: t, lambda sigma: sigma)

    def fraction(self, t: float) -> float:
        return (math.log(t) - math.log(self.sigma_min)) / (math.log(self.sigma_max) - math.log(self.sigma_min))

    def time_at(self, fraction: Tensor) -> Tensor:
        lo, hi = math.log(self.sigma_min), math.log(self.sigma_max)
        return (lo + fraction.double() * (hi - lo)).exp()

    def derivatives(self, t: float) -> tuple[float, float]:
        return 0.0, 1.0  # a = 1, s = sigma = t: dx/dsigma = eps_hat = (x - D) / sigma (their eq. 7 at s = 1)

    def time_of_sigma(self, sigma: float) -> float:
        return sigma
