"""Reverse-process samplers and the spacings that place their levels. Every sampler has one signature:

    sampler(denoise, x, levels, generator, eta, trajectory) -> x0 sample

`denoise(x_t, t)` returns the network's (x0, eps) estimate at x_t = a(t) x0 + s(t) eps, guidance already
applied; `levels` the descending times to visit with their coefficients (`Levels`, from a formulation and a
spacing); `eta` the sampler's stochasticity (0: deterministic); `trajectory`, when given (a list, or any
object with `append`), receives a `Step` per visited level.

DDPM, DDIM and DPM-Solver++ are written for the variance-preserving process; any formulation is one after
dividing x by sqrt(a^2 + s^2) (Karras et al. 2022, sec. 2: the scaling s(t) changes no sample), so they run
in that view. Euler and Heun integrate the probability-flow ODE in the formulation's own time.
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


class Path(Protocol):
    """What the ODE samplers need of a continuous formulation (edm, flow)."""

    def path(self, t: Tensor) -> tuple[Tensor, Tensor]: ...

    def derivatives(self, t: float) -> tuple[float, float]: ...

    def time_of_sigma(self, sigma: float) -> float: ...


@dataclass(frozen=True)
class TimeRange:
    """The times a formulation's sampler may visit, from the noisiest `hi` down toward `lo`."""

    lo: float  # vp: step 0; edm: sigma_min (the last level visited); flow: 0, the clean end (never visited)
    hi: float  # vp: step T - 1; edm: sigma_max; flow: 1, pure noise
    discrete: bool  # vp: times are integer steps, so a spacing rounds to distinct integers
    sigma: Callable[[Tensor], Tensor]  # time -> sigma = s/a (float64): Karras's spacing is placed in sigma
    time: Callable[[Tensor], Tensor]  # sigma -> time, the inverse (vp: the nearest step)


@dataclass(frozen=True)
class Levels:
    """The levels a sampler visits, noisiest first, and the clean end after them."""

    t: Tensor  # (S,) the times handed to the denoiser: long steps (vp) or float64 times (edm, flow)
    alpha_bar: list[float]  # (S + 1) a^2 / (a^2 + s^2): each level's variance-preserving view; 1 at the end
    scale: list[float]  # (S + 1) sqrt(a^2 + s^2): x = scale * x_vp; 1 for vp and at the end
    times: list[float]  # (S + 1) the times as floats, then 0: the clean end of the ODE
    path: Path | None  # the continuous formulation, for Euler and Heun; None for vp


@dataclass(frozen=True)
class Step:
    """One visited level of the reverse process."""

    t: float  # the time the network was evaluated at (vp: the integer step 0..T-1)
    x_t: Tensor  # (B, C, H, W) the noisy sample it saw
    x0: Tensor  # (B, C, H, W) its predicted clean image


class Trajectory(Protocol):
    """Where a sampler reports each visited step: a list keeps them; an observer may reduce them at once."""

    def append(self, step: Step, /) -> None: ...


class Sampler(Protocol):
    def __call__(self, denoise: Denoiser, x: Tensor, levels: Levels, generator: torch.Generator, eta: float,
                 trajectory: Trajectory | None) -> Tensor: ...


class Spacing(Protocol):
    def __call__(self, span: TimeRange, steps: int) -> Tensor: ...


SAMPLERS: Registry[Sampler] = Registry("sampler", "reverse-process samplers")
SPACINGS: Registry[Spacing] = Registry("spacing", "which levels a sampler visits (descending)")
CORRECTORS = ("heun",)  # samplers that evaluate the network a second time at each level but the last


def evaluated_times(sampler: str, levels: Levels) -> list[float]:
    """The times at which `sampler` runs the network over `levels` (Heun: twice at each level but the last)."""
    times = levels.t.tolist()
    return times + times[1:] if sampler in CORRECTORS else times


@SPACINGS.register("uniform")
def uniform_spacing(span: TimeRange, steps: int) -> Tensor:
    """Evenly spaced from the noisiest time down ('trailing' in Lin et al. 2024): vp visits T-1 .. 0 both
    included; a continuous time takes `steps` equal steps to the clean end (Liu et al. 2023's Euler)."""
    if span.discrete:
        return torch.linspace(span.hi, span.lo, steps, dtype=torch.float64).round().long()
    return torch.linspace(span.hi, span.lo, steps + 1, dtype=torch.float64)[:-1]


@SPACINGS.register("quadratic")
def quadratic_spacing(span: TimeRange, steps: int) -> Tensor:
    """Song et al. 2021 (DDIM), app. D.2: t_i = (i * sqrt(0.8 T) / S)^2, denser near t = 0 (vp's steps)."""
    timesteps = int(span.hi) + 1
    ts = (torch.linspace(0, (0.8 * timesteps) ** 0.5, steps, dtype=torch.float64) ** 2).round().long()
    return _strictly_descending(ts.flip(0), timesteps)


@SPACINGS.register("leading")
def leading_spacing(span: TimeRange, steps: int) -> Tensor:
    """Song et al. 2021 (DDIM) as released: t = 0, T/S, 2T/S, ... (never visits T-1; vp's steps)."""
    return (torch.arange(steps, dtype=torch.long) * ((int(span.hi) + 1) // steps)).flip(0)


@SPACINGS.register("karras")
def karras_spacing(span: TimeRange, steps: int, rho: float = 7.0) -> Tensor:
    """Karras et al. 2022, eq. 5: sigma_i = (sigma_max^(1/rho) + i/(N-1) (sigma_min^(1/rho) - sigma_max^(1/rho)))^rho,
    rho = 7: dense at low noise, where the ODE's truncation error matters most (their sec. 3)."""
    lo, hi = span.sigma(torch.tensor([span.lo, span.hi], dtype=torch.float64)).tolist()
    ramp = torch.linspace(0, 1, steps, dtype=torch.float64) if steps > 1 else torch.zeros(1, dtype=torch.float64)
    sigmas = (hi ** (1 / rho) + ramp * (lo ** (1 / rho) - hi ** (1 / rho))) ** rho
    times = span.time(sigmas)
    if span.discrete:
        return _strictly_descending(times.round().long(), int(span.hi) + 1)
    return times


def _strictly_descending(ts: Tensor, timesteps: int) -> Tensor:
    """Make rounded timesteps unique by nudging repeats upward, leaving room below T for the levels above."""
    out = torch.minimum(ts, timesteps - 1 - torch.arange(len(ts)))  # level i of S has i levels above it
    for i in range(len(out) - 2, -1, -1):
        out[i] = max(int(out[i]), int(out[i + 1]) + 1)
    return out


def _time(levels: Levels, i: int, x: Tensor) -> Tensor:
    """Level i's time as a (B,) tensor for the denoiser."""
    return levels.t[i].expand(x.shape[0]).to(x.device)


def _visit(denoise: Denoiser, x: Tensor, levels: Levels, i: int,
           trajectory: Trajectory | None) -> tuple[Tensor, Tensor]:
    """The denoiser at level i, reported to `trajectory`."""
    x0, eps = denoise(x, _time(levels, i, x))
    if trajectory is not None:
        trajectory.append(Step(levels.t[i].item(), x, x0))
    return x0, eps


def _noise(x: Tensor, generator: torch.Generator) -> Tensor:
    return torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)


@SAMPLERS.register("ddim")
def sample_ddim(denoise: Denoiser, x: Tensor, levels: Levels, generator: torch.Generator, eta: float,
                trajectory: Trajectory | None) -> Tensor:
    """Song et al. 2021, 'Denoising Diffusion Implicit Models', eq. 12 (eta = 0: deterministic)."""
    for i in range(len(levels.t)):
        ab_t, ab_prev, scale_prev = levels.alpha_bar[i], levels.alpha_bar[i + 1], levels.scale[i + 1]
        x0, eps = _visit(denoise, x, levels, i, trajectory)
        # eq. 16: sigma_t = eta * sqrt((1 - ab_prev) / (1 - ab_t)) * sqrt(1 - ab_t / ab_prev)
        sigma = eta * ((1 - ab_prev) / (1 - ab_t) * (1 - ab_t / ab_prev)) ** 0.5
        direction = max(1 - ab_prev - sigma**2, 0.0) ** 0.5
        x = ab_prev**0.5 * x0 + direction * eps
        if sigma > 0:
            x = x + sigma * _noise(x, generator)
        x = scale_prev * x
    return x


@SAMPLERS.register("ddpm")
def sample_ddpm(denoise: Denoiser, x: Tensor, levels: Levels, generator: torch.Generator, eta: float,
                trajectory: Trajectory | None) -> Tensor:
    """Ho et al. 2020, Algorithm 2, via the posterior q(x_prev | x_t, x0) of eqs. 6-7.

    With fewer steps than T it samples the respaced process (Nichol & Dhariwal 2021, sec. 4).
    The variance is the paper's sigma_t^2 = beta-tilde_t; `eta` is not used.
    """
    for i in range(len(levels.t)):
        ab_t, ab_prev = levels.alpha_bar[i], levels.alpha_bar[i + 1]
        x0, _ = _visit(denoise, x, levels, i, trajectory)
        x = x / levels.scale[i]  # the variance-preserving view
        alpha = ab_t / ab_prev  # the (respaced) step's 1 - beta
        beta = 1 - alpha
        # eq. 7: mean = sqrt(ab_prev) beta / (1 - ab_t) x0 + sqrt(alpha) (1 - ab_prev) / (1 - ab_t) x_t
        x = (ab_prev**0.5 * beta / (1 - ab_t)) * x0 + (alpha**0.5 * (1 - ab_prev) / (1 - ab_t)) * x
        variance = beta * (1 - ab_prev) / (1 - ab_t)  # beta-tilde_t; 0 at the last step
        if variance > 0:
            x = x + variance**0.5 * _noise(x, generator)
        x = levels.scale[i + 1] * x
    return x


@SAMPLERS.register("dpmpp_2m")
def sample_dpmpp_2m(denoise: Denoiser, x: Tensor, levels: Levels, generator: torch.Generator, eta: float,
                    trajectory: Trajectory | None) -> Tensor:
    """Lu et al. 2022, 'DPM-Solver++', Algorithm 2 (2M: multistep second order, data prediction); `eta` unused.

    Deterministic like DDIM (its first-order step is DDIM's); the last step lands on the data with
    the first-order update, as the paper's solver does with lower-order final steps.
    """
    x0_prev, h_prev = None, 0.0
    steps = len(levels.t)
    for i in range(steps):
        ab_t, ab_next = levels.alpha_bar[i], levels.alpha_bar[i + 1]
        x0, _ = _visit(denoise, x, levels, i, trajectory)
        if ab_next >= 1.0:  # sigma = 0: the first-order update is x0 itself
            return x0
        h = _log_snr_half(ab_next) - _log_snr_half(ab_t)  # h_i = lambda_{t_i} - lambda_{t_{i-1}}
        # the step into the smallest t is first order: its h dwarfs the previous one, and the
        # extrapolation 1/(2 r_i) would blow up (diffusers' lower_order_final)
        second_order = x0_prev is not None and i < steps - 2
        d = x0 + (x0 - x0_prev) * (h / (2 * h_prev)) if second_order else x0  # (1 + 1/2r) x0_i - 1/2r x0_{i-1}
        # sigma_{t_i} / sigma_{t_{i-1}} x - alpha_{t_i} (e^{-h_i} - 1) D_i, in the variance-preserving view
        x = ((1 - ab_next) / (1 - ab_t)) ** 0.5 * (x / levels.scale[i]) - ab_next**0.5 * math.expm1(-h) * d
        x = levels.scale[i + 1] * x
        x0_prev, h_prev = x0, h
    return x


def _log_snr_half(ab: float) -> float:
    """lambda_t = log(alpha_t / sigma_t) = log(sqrt(ab) / sqrt(1 - ab)) (Lu et al. 2022, sec. 2); -inf at pure
    noise (flow's t = 1), where the first update is then DDIM's."""
    return 0.5 * math.log(ab / (1 - ab)) if ab > 0 else -math.inf


@SAMPLERS.register("euler")
def sample_euler(denoise: Denoiser, x: Tensor, levels: Levels, generator: torch.Generator, eta: float,
                 trajectory: Trajectory | None) -> Tensor:
    """Karras et al. 2022, Algorithm 2 without its correction: Euler steps of the probability-flow ODE in the
    formulation's own time (Algorithm 1 for edm; Liu et al. 2023's Euler for flow); `eta` is S_churn."""
    return _karras(denoise, x, levels, generator, eta, trajectory, correct=False)


@SAMPLERS.register("heun")
def sample_heun(denoise: Denoiser, x: Tensor, levels: Levels, generator: torch.Generator, eta: float,
                trajectory: Trajectory | None) -> Tensor:
    """Karras et al. 2022, Algorithm 1 (eta = 0) and Algorithm 2 (`eta` = S_churn > 0): Heun's second-order
    steps of the probability-flow ODE in the formulation's own time, Euler into the clean end."""
    return _karras(denoise, x, levels, generator, eta, trajectory, correct=True)


def _karras(denoise: Denoiser, x: Tensor, levels: Levels, generator: torch.Generator, churn: float,
            trajectory: Trajectory | None, correct: bool) -> Tensor:
    """Algorithm 2 of Karras et al. 2022 in general form: the ODE dx/dt = a'(t) x0_hat + s'(t) eps_hat of the
    path x = a x0 + s eps (their eq. 4, written as a flow, Lipman et al. 2023), S_tmin = 0, S_tmax = inf,
    S_noise = 1."""
    path = levels.path
    if path is None:
        raise ValueError("Euler and Heun integrate a continuous formulation's ODE (edm, flow); vp has integer steps")
    steps = len(levels.t)
    gamma = min(churn / steps, 2**0.5 - 1)  # line 4: gamma_i
    for i in range(steps):
        t, t_next = levels.times[i], levels.times[i + 1]
        t_now = _time(levels, i, x)
        if gamma > 0 and levels.alpha_bar[i] > 0:  # lines 5-6: raise the noise level to sigma_hat = (1 + gamma) sigma
            a, s = (float(v) for v in path.path(torch.tensor([t], dtype=torch.float64)))
            sigma_hat = (1 + gamma) * s / a
            t = path.time_of_sigma(sigma_hat)
            a_hat, _ = (float(v) for v in path.path(torch.tensor([t], dtype=torch.float64)))
            x = a_hat * (x / a + (sigma_hat**2 - (s / a) ** 2) ** 0.5 * _noise(x, generator))
            t_now = torch.full_like(t_now, t)
        x0, eps = denoise(x, t_now)
        if trajectory is not None:
            trajectory.append(Step(t, x, x0))
        velocity = _velocity(path, t, x0, eps)
        x_next = x + (t_next - t) * velocity  # line 7: Euler step
        if correct and i + 1 < steps:  # line 8: second-order correction, except into the clean end
            x0_next, eps_next = denoise(x_next, _time(levels, i + 1, x))
            x_next = x + (t_next - t) * 0.5 * (velocity + _velocity(path, t_next, x0_next, eps_next))
        x = x_next
    return x


def _velocity(path: Path, t: float, x0: Tensor, eps: Tensor) -> Tensor:
    da, ds = path.derivatives(t)
    return da * x0 + ds * eps
