"""The diffusion formulation: how x_t is made from x0 and noise, what the network is told and trained to output,
and how its output becomes the denoised estimate. One subclass per formulation (`vp`, `edm`, `flow`).

Every formulation writes its noisy images as x_t = a(t) x0 + s(t) eps in its own time t (vp: the integer step;
edm: sigma; flow: t in [0, 1]); samplers, guidance and the metrics work through that one form.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

import torch
from torch import Tensor

from .._util import Registry, autocast, memory_format
from ._samplers import SPACINGS, Levels, TimeRange

if TYPE_CHECKING:  # annotations only: the config validates names against this package's registries
    from ..config import DiffusionConfig

Network = Callable[[Tensor, Tensor, Tensor], Tensor]  # (x_in (B, C, H, W), c_noise (B,), y (B,)) -> output like x_in

FORMULATIONS: Registry[type[Diffusion]] = Registry(
    "formulation", "how x_t is made from x0 and noise and what the network outputs: vp, edm or flow")

SNR_RANGE = (1e-8, 1e8)  # loss weights are ratios of SNR functions: clamp SNR so t = 0 or t = 1 stays finite


class Diffusion:
    """A formulation of the forward process and the network's parametrisation.

    `Diffusion(cfg)` builds the member of FORMULATIONS that cfg.formulation names (like pathlib.Path).
    """

    summary: ClassVar[str] = ""  # one line for `harness components`
    continuous: ClassVar[bool] = True  # times are real numbers (edm, flow), not vp's integer steps
    samplers: ClassVar[tuple[str, ...]] = ()  # SAMPLERS members that can sample it, its paper's first
    spacings: ClassVar[tuple[str, ...]] = ()  # SPACINGS members that can place its levels, its paper's first
    noise_samplings: ClassVar[tuple[str, ...]] = ()  # NOISE_SAMPLINGS members it can train with

    def __new__(cls, cfg: DiffusionConfig) -> Diffusion:
        if cls is Diffusion:
            cls = FORMULATIONS.get(cfg.formulation)
        return super().__new__(cls)

    def __init__(self, cfg: DiffusionConfig) -> None:
        self.cfg = cfg
        self.timesteps = cfg.timesteps  # vp's T; the continuous formulations do not use it

    # --- what each formulation defines -----------------------------------------------------------------------
    def path(self, t: Tensor) -> tuple[Tensor, Tensor]:
        """(a, s) of x_t = a x0 + s eps at times t, float64, shaped like t."""
        raise NotImplementedError

    def network_input(self, x_t: Tensor, t: Tensor) -> tuple[Tensor, Tensor]:
        """(c_in x_t, c_noise): the image and the time the network is given."""
        raise NotImplementedError

    def target(self, x0: Tensor, eps: Tensor, t: Tensor) -> Tensor:
        """What the network is trained to output for x_t = q_sample(x0, t, eps)."""
        raise NotImplementedError

    def to_x0_eps(self, out: Tensor, x_t: Tensor, t: Tensor) -> tuple[Tensor, Tensor]:
        """The (x0, eps) pair implied by network output `out` at x_t."""
        raise NotImplementedError

    def native_weight(self, snr: Tensor) -> Tensor:
        """The weight on ||x0_hat - x0||^2 that plain MSE on this network output carries (Kingma & Gao 2023,
        'Understanding Diffusion Objectives'): a loss weighting is applied relative to it."""
        raise NotImplementedError

    def times(self, n: int, generator: torch.Generator) -> Tensor:
        """n training times drawn uniformly over the formulation's own time (the `uniform` noise sampling)."""
        raise NotImplementedError

    def time_range(self) -> TimeRange:
        """The times a sampler may visit, for a spacing to choose from."""
        raise NotImplementedError

    def fraction(self, t: float) -> float:
        """Where time t lies between the least (0) and the most (1) noise: guidance intervals are fractions."""
        raise NotImplementedError

    def time_at(self, fraction: Tensor) -> Tensor:
        """The inverse of `fraction`: times at fractions in [0, 1]."""
        raise NotImplementedError

    def derivatives(self, t: float) -> tuple[float, float]:
        """(da/dt, ds/dt): the probability-flow ODE's velocity is a' x0_hat + s' eps_hat (Lipman et al. 2023, eq. 20)."""
        raise NotImplementedError

    def time_of_sigma(self, sigma: float) -> float:
        """The time whose s/a is `sigma` (Karras et al. 2022, Algorithm 2 raises sigma, then needs its time)."""
        raise NotImplementedError

    # --- common to every formulation -------------------------------------------------------------------------
    def coefficients(self, t: Tensor, like: Tensor) -> tuple[Tensor, Tensor]:
        """(a, s) at times t, shaped (B, 1, 1, 1) in the dtype and device of `like`."""
        a, s = self.path(t)
        return (a.to(like.device, like.dtype).view(-1, 1, 1, 1), s.to(like.device, like.dtype).view(-1, 1, 1, 1))

    def q_sample(self, x0: Tensor, t: Tensor, eps: Tensor) -> Tensor:
        """x_t = a(t) x0 + s(t) eps."""
        a, s = self.coefficients(t, x0)
        return a * x0 + s * eps

    def snr(self, t: Tensor) -> Tensor:
        """a^2 / s^2 at times t, float64, clamped to SNR_RANGE."""
        a, s = self.path(t)
        return (a.square() / s.square()).clamp(*SNR_RANGE)

    def loss_terms(self, out: Tensor, x0: Tensor, t: Tensor, eps: Tensor) -> Tensor:
        """Per-image MSE between the network output and the formulation's target, shape (B,)."""
        return (out.float() - self.target(x0, eps, t)).pow(2).flatten(1).mean(1)

    def network_loss(self, model: Network, x0: Tensor, t: Tensor, eps: Tensor, y: Tensor,
                     precision: torch.dtype | None = None) -> Tensor:
        """`loss_terms` of `model` on x0 noised to time t with `eps` (`q_sample`), the network run under autocast
        to `precision` (None: fp32) in the device's memory format; shape (B,)."""
        x_t = self.q_sample(x0, t, eps).contiguous(memory_format=memory_format(x0.device))  # (B, C, H, W)
        x_in, c_noise = self.network_input(x_t, t)
        with autocast(x0.device, precision):
            out = model(x_in, c_noise, y)
        return self.loss_terms(out, x0, t, eps)

    def at(self, t: float, n: int) -> Tensor:
        """n copies of time t as the denoiser and q_sample take it (vp: integer steps)."""
        return torch.full((n,), t, dtype=torch.float64 if self.continuous else torch.long)

    def forward_grid(self, points: int) -> list[float]:
        """About `points` times from the least to the most noise, evenly spread in the noise fraction."""
        return sorted(set(self.time_at(torch.linspace(0, 1, points, dtype=torch.float64)).tolist()))

    def guided_at(self, t: float, interval: tuple[float, ...]) -> bool:
        """Kynkäänniemi et al. 2024, 'Applying Guidance in a Limited Interval': guide only where the noise level's
        fraction lies in [lo, hi]; outside, the conditional pass alone (w = 1)."""
        lo, hi = interval
        return lo <= self.fraction(t) <= hi

    def variance_preserving(self, t: Tensor) -> tuple[Tensor, Tensor]:
        """(alpha_bar, scale) at times t: x_t / scale = sqrt(alpha_bar) x0 + sqrt(1 - alpha_bar) eps."""
        a, s = self.path(t)
        scale = (a.square() + s.square()).sqrt()
        return a.square() / scale.square(), scale

    def levels(self, spacing: str, steps: int) -> Levels:
        """The `steps` descending levels `spacing` places, with their coefficients, for a sampler."""
        t = SPACINGS.get(spacing)(self.time_range(), steps)
        alpha_bar, scale = self.variance_preserving(t)
        return Levels(t, alpha_bar.tolist() + [1.0], scale.tolist() + [1.0], t.double().tolist() + [0.0],
                      self if self.continuous else None)

    def buckets(self, count: int) -> list[tuple[float, float]]:
        """`count` equal bands of the noise range as (from, to) times, least noisy first (the mse metric's)."""
        edges = self.time_at(torch.linspace(0, 1, count + 1, dtype=torch.float64)).tolist()
        return list(zip(edges[:-1], edges[1:]))

    def draw_between(self, lo: float, hi: float, n: int, generator: torch.Generator) -> Tensor:
        """n times uniform in the noise fraction between times lo and hi."""
        f_lo, f_hi = self.fraction(lo), self.fraction(hi)
        return self.time_at(f_lo + (f_hi - f_lo) * torch.rand(n, generator=generator, dtype=torch.float64))

    @property
    def terminal_signal(self) -> float:
        """sqrt(alpha_bar) where sampling starts: how much of x0 is left in the noisiest level, variance-preserving."""
        alpha_bar, _ = self.variance_preserving(torch.tensor([self.time_range().hi], dtype=torch.float64))
        return float(alpha_bar[0].sqrt())
