"""`flow`: flow matching on the linear path (Lipman et al. 2023, 'Flow Matching for Generative Modeling';
Liu et al. 2023, 'Flow Straight and Fast: Learning to Generate and Transfer Data with Rectified Flow')."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ._process import FORMULATIONS, Diffusion
from ._samplers import TimeRange

# Liu et al.'s released code hands the network 999 t, the range of vp's steps, so the sinusoidal time
# embedding sees the same frequencies under every formulation.
TIME_SCALE = 999.0


@FORMULATIONS.register("flow")
class FlowDiffusion(Diffusion):
    """x_t = (1 - t) x0 + t eps for t in [0, 1]; the network predicts the velocity v = eps - x0 (the path's
    d x_t / dt) and is told TIME_SCALE t."""

    summary = "flow matching (Lipman et al. 2023): x_t = (1 - t) x0 + t eps, the network predicts v = eps - x0"
    samplers = ("heun", "euler", "dpmpp_2m", "ddim", "ddpm")
    spacings = ("uniform",)
    noise_samplings = ("uniform", "logit_normal")

    def path(self, t: Tensor) -> tuple[Tensor, Tensor]:
        t = t.double()
        return 1 - t, t

    def network_input(self, x_t: Tensor, t: Tensor) -> tuple[Tensor, Tensor]:
        return x_t, t.float() * TIME_SCALE

    def target(self, x0: Tensor, eps: Tensor, t: Tensor) -> Tensor:
        return eps - x0

    def to_x0_eps(self, out: Tensor, x_t: Tensor, t: Tensor) -> tuple[Tensor, Tensor]:
        t = t.to(x_t.device, x_t.dtype).view(-1, 1, 1, 1)
        out = out.to(x_t.dtype)
        return x_t - t * out, x_t + (1 - t) * out

    def native_weight(self, snr: Tensor) -> Tensor:
        """||v_hat - v||^2 = ||x0_hat - x0||^2 / t^2, and 1 / t = 1 + sqrt(SNR)."""
        return (1 + snr.sqrt()).square()

    def times(self, n: int, generator: torch.Generator) -> Tensor:
        return torch.rand(n, generator=generator, dtype=torch.float64)

    def time_range(self) -> TimeRange:
        return TimeRange(0.0, 1.0, False, lambda t: t / (1 - t), lambda sigma: sigma / (1 + sigma))

    def fraction(self, t: float) -> float:
        return t

    def time_at(self, fraction: Tensor) -> Tensor:
        return fraction.double()

    def derivatives(self, t: float) -> tuple[float, float]:
        return -1.0, 1.0  # dx/dt = eps_hat - x0_hat = v_hat

    def time_of_sigma(self, sigma: float) -> float:
        return sigma / (1 + sigma) if math.isfinite(sigma) else 1.0
