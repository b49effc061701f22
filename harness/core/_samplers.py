"""Reverse-process samplers. Every sampler has one signature:

    sampler(denoise, x, alpha_bar, timesteps, generator, eta, trajectory) -> x0 sample

`denoise(x_t, t)` returns the network's (x0, eps) estimate, guidance already applied; `alpha_bar`
is the schedule's (T,) float64 cumulative product; `timesteps` the descending long tensor of the
steps to visit (from a spacing); `trajectory`, when given (a list, or any object
with `append`), receives a `Step` per step.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import torch
from torch import Tensor

from .._util import Registry

Denoiser = Callable[[Tensor, Tensor], tuple[Tensor, Tensor]]  # (x_t (B,C,H,W), t (B,)) -> (x0, eps)


@dataclass(frozen=True)
class Step:
    """One visited step of the reverse process."""

    t: int  # the timestep (0..T-1) the network was evaluated at
    x_t: Tensor  # (B, C, H, W) the noisy sample it saw
    x0: Tensor  # (B, C, H, W) its predicted clean image


class Trajectory(Protocol):
    """Where a sampler reports each visited step: a list keeps them; an observer may reduce them at once."""

    def append(self, step: Step, /) -> None: ...


class Sampler(Protocol):
    def __call__(self, denoise: Denoiser, x: Tensor, alpha_bar: Tensor, timesteps: Tensor,
                 generator: torch.Generator, eta: float, trajectory: Trajectory | None) -> Tensor: ...


class Spacing(Protocol):
    def __call__(self, timesteps: int, steps: int) -> Tensor: ...


SAMPLERS: Registry[Sampler] = Registry("sampler", "reverse-process samplers")
SPACINGS: Registry[Spacing] = Registry("spacing", "which timesteps a sampler visits (descending)")


@SPACINGS.register("uniform")
def uniform_spacing(timesteps: int, steps: int) -> Tensor:
    """Evenly spaced from T-1 down to 0, both ends included ('trailing' in Lin et al. 2024)."""
    return torch.linspace(timesteps - 1, 0, steps, dtype=torch.float64).round().long()


@SPACINGS.register("quadratic")
def quadratic_spacing(timesteps: int, steps: int) -> Tensor:
    """Song et al. 2021 (DDIM), app. D.2: t_i = (i * sqrt(0.8 T) / S)^2, denser near t = 0."""
    ts = (torch.linspace(0, (0.8 * timesteps) ** 0.5, steps, dtype=torch.float64) ** 2).round().long()
    return _strictly_descending(ts.flip(0), timesteps)


@SPACINGS.register("leading")
def leading_spacing(timesteps: int, steps: int) -> Tensor:
    """Song et al. 2021 (DDIM) as released: t = 0, T/S, 2T/S, ... (never visits T-1)."""
    return (torch.arange(steps, dtype=torch.long) * (timesteps // steps)).flip(0)


def _strictly_descending(ts: Tensor, timesteps: int) -> Tensor:
    """Make rounded timesteps unique by nudging repeats upward, keeping them below T."""
    out = ts.clone()
    for i in range(len(out) - 2, -1, -1):
        out[i] = max(int(out[i]), int(out[i + 1]) + 1)
    return out.clamp(max=timesteps - 1)


def _pairs(alpha_bar: Tensor, timesteps: Tensor) -> list[tuple[int, float, float]]:
    """(t, alpha_bar_t, alpha_bar_prev) per step, with alpha_bar_prev = 1 after the last step."""
    ts = timesteps.tolist()
    prev = ts[1:] + [-1]
    ab = alpha_bar.tolist()
    return [(t, ab[t], ab[p] if p >= 0 else 1.0) for t, p in zip(ts, prev)]


@SAMPLERS.register("ddim")
def sample_ddim(denoise: Denoiser, x: Tensor, alpha_bar: Tensor, timesteps: Tensor,
                generator: torch.Generator, eta: float, trajectory: Trajectory | None) -> Tensor:
    """Song et al. 2021, 'Denoising Diffusion Implicit Models', eq. 12 (eta = 0: deterministic)."""
    for t, ab_t, ab_prev in _pairs(alpha_bar, timesteps):
        x0, eps = denoise(x, torch.full((x.shape[0],), t, dtype=torch.long, device=x.device))
        if trajectory is not None:
            trajectory.append(Step(t, x, x0))
        # eq. 16: sigma_t = eta * sqrt((1 - ab_prev) / (1 - ab_t)) * sqrt(1 - ab_t / ab_prev)
        sigma = eta * ((1 - ab_prev) / (1 - ab_t) * (1 - ab_t / ab_prev)) ** 0.5
        direction = max(1 - ab_prev - sigma**2, 0.0) ** 0.5
        x = ab_prev**0.5 * x0 + direction * eps
        if sigma > 0:
            x = x + sigma * torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
    return x


@SAMPLERS.register("ddpm")
def sample_ddpm(denoise: Denoiser, x: Tensor, alpha_bar: Tensor, timesteps: Tensor,
                generator: torch.Generator, eta: float, trajectory: Trajectory | None) -> Tensor:
    """Ho et al. 2020, Algorithm 2, via the posterior q(x_prev | x_t, x0) of eqs. 6-7.

    With fewer steps than T it samples the respaced process (Nichol & Dhariwal 2021, sec. 4).
    The variance is the paper's sigma_t^2 = beta-tilde_t; `eta` is not used.
    """
    for t, ab_t, ab_prev in _pairs(alpha_bar, timesteps):
        x0, _ = denoise(x, torch.full((x.shape[0],), t, dtype=torch.long, device=x.device))
        if trajectory is not None:
            trajectory.append(Step(t, x, x0))
        alpha = ab_t / ab_prev  # the (respaced) step's 1 - beta
        beta = 1 - alpha
        # eq. 7: mean = sqrt(ab_prev) beta / (1 - ab_t) x0 + sqrt(alpha) (1 - ab_prev) / (1 - ab_t) x_t
        x = (ab_prev**0.5 * beta / (1 - ab_t)) * x0 + (alpha**0.5 * (1 - ab_prev) / (1 - ab_t)) * x
        variance = beta * (1 - ab_prev) / (1 - ab_t)  # beta-tilde_t; 0 at the last step
        if variance > 0:
            x = x + variance**0.5 * torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
    return x


@SAMPLERS.register("dpmpp_2m")
def sample_dpmpp_2m(denoise: Denoiser, x: Tensor, alpha_bar: Tensor, timesteps: Tensor,
                    generator: torch.Generator, eta: float, trajectory: Trajectory | None) -> Tensor:
    """Lu et al. 2022, 'DPM-Solver++', Algorithm 2 (2M: multistep second order, data prediction); `eta` unused.

    Deterministic like DDIM (its first-order step is DDIM's); the last step lands on the data with
    the first-order update, as the paper's solver does with lower-order final steps.
    """
    x0_prev, h_prev = None, 0.0
    pairs = _pairs(alpha_bar, timesteps)
    for i, (t, ab_t, ab_next) in enumerate(pairs):
        x0, _ = denoise(x, torch.full((x.shape[0],), t, dtype=torch.long, device=x.device))
        if trajectory is not None:
            trajectory.append(Step(t, x, x0))
        if ab_next >= 1.0:  # sigma = 0: the first-order update is x0 itself
            return x0
        h = _log_snr_half(ab_next) - _log_snr_half(ab_t)  # h_i = lambda_{t_i} - lambda_{t_{i-1}}
        # the step into the smallest t is first order: its h dwarfs the previous one, and the
        # extrapolation 1/(2 r_i) would blow up (diffusers' lower_order_final)
        second_order = x0_prev is not None and i < len(pairs) - 2
        d = x0 + (x0 - x0_prev) * (h / (2 * h_prev)) if second_order else x0  # (1 + 1/2r) x0_i - 1/2r x0_{i-1}
        # sigma_{t_i} / sigma_{t_{i-1}} x - alpha_{t_i} (e^{-h_i} - 1) D_i
        x = ((1 - ab_next) / (1 - ab_t)) ** 0.5 * x - ab_next**0.5 * math.expm1(-h) * d
        x0_prev, h_prev = x0, h
    return x


def _log_snr_half(ab: float) -> float:
    """lambda_t = log(alpha_t / sigma_t) = log(sqrt(ab) / sqrt(1 - ab)) (Lu et al. 2022, sec. 2)."""
    return 0.5 * math.log(ab / (1 - ab))
