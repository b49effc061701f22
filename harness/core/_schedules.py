"""Noise schedules: every member maps (T, beta_start, beta_end) to betas of shape (T,), float64.

Index i of the result is beta_{i+1} of the papers (t = 1..T); the harness uses t = 0..T-1.
"""

from __future__ import annotations

import math
from typing import Protocol

import torch
from torch import Tensor

from .._util import Registry


class Schedule(Protocol):
    def __call__(self, timesteps: int, beta_start: float, beta_end: float) -> Tensor: ...


SCHEDULES: Registry[Schedule] = Registry("schedule", "beta_t for t = 1..T of the forward process")

MAX_BETA = 0.999  # Nichol & Dhariwal's cap: keeps 1 - beta_t away from 0 near t = T


@SCHEDULES.register("linear")
def linear(timesteps: int, beta_start: float, beta_end: float) -> Tensor:
    """Ho et al. 2020, sec. 4: betas evenly spaced from beta_start to beta_end, whatever T is."""
    return torch.linspace(beta_start, beta_end, timesteps, dtype=torch.float64)


@SCHEDULES.register("linear_scaled")
def linear_scaled(timesteps: int, beta_start: float, beta_end: float) -> Tensor:
    """Nichol & Dhariwal 2021: linear, with endpoints scaled by 1000/T so any T ends near pure noise."""
    scale = 1000.0 / timesteps
    return torch.linspace(beta_start * scale, min(beta_end * scale, MAX_BETA), timesteps, dtype=torch.float64)


@SCHEDULES.register("cosine")
def cosine(timesteps: int, beta_start: float, beta_end: float) -> Tensor:
    """Nichol & Dhariwal 2021, eq. 17: alpha_bar(t) = cos^2(((t/T + s) / (1 + s)) * pi/2), s = 0.008.

    The beta range is not used; betas are capped at 0.999.
    """
    s = 0.008
    steps = torch.arange(timesteps + 1, dtype=torch.float64) / timesteps
    alpha_bar = torch.cos((steps + s) / (1 + s) * math.pi / 2) ** 2
    return (1 - alpha_bar[1:] / alpha_bar[:-1]).clamp(max=MAX_BETA)


@SCHEDULES.register("sigmoid")
def sigmoid(timesteps: int, beta_start: float, beta_end: float) -> Tensor:
    """Xu et al. 2022 (GeoDiff): betas follow a sigmoid over [-6, 6], rescaled to the beta range."""
    x = torch.linspace(-6.0, 6.0, timesteps, dtype=torch.float64)
    return torch.sigmoid(x) * (beta_end - beta_start) + beta_start


@SCHEDULES.register("quadratic")
def quadratic(timesteps: int, beta_start: float, beta_end: float) -> Tensor:
    """Ho et al. 2020's 'quad' schedule: sqrt(beta) evenly spaced, then squared."""
    return torch.linspace(beta_start**0.5, beta_end**0.5, timesteps, dtype=torch.float64) ** 2
