"""Exponential moving average of a network's weights."""

from __future__ import annotations

import copy
import math

import torch
from torch import nn


class EMA:
    """Polyak averaging: shadow <- d * shadow + (1 - d) * weights after every optimiser step.

    The decay warms up as min(decay, (1 + k) / (10 + k)) at step k, so a short run is not dominated
    by its random initialisation; a run of at most `warmed_up_at(decay)` steps never reaches its decay.
    """

    def __init__(self, model: nn.Module, decay: float) -> None:
        self.decay = decay  # the decay once warmed up, e.g. 0.995
        self.model = copy.deepcopy(model).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module, step: int) -> None:
        d = min(self.decay, warm_up(step))
        shadow = [p for p in self.model.parameters()]
        live = [p.detach() for p in model.parameters()]
        torch._foreach_lerp_(shadow, live, 1.0 - d)


def warm_up(step: int) -> float:
    """The EMA's decay ceiling at `step` (counted from 0): (1 + k) / (10 + k), TensorFlow's ExponentialMovingAverage
    with num_updates, which diffusers' EMAModel also applies."""
    return (1 + step) / (10 + step)


def warmed_up_at(decay: float) -> int:
    """The first step at which the warm-up reaches `decay`; a run of no more steps than this never uses its decay,
    as the warm-up alone sets the average."""
    step = max(0, math.ceil((10 * decay - 1) / (1 - decay)))  # (1 + k) / (10 + k) >= decay, solved for k
    while step > 0 and warm_up(step - 1) >= decay:  # the closed form's rounding, settled against warm_up itself
        step -= 1
    while warm_up(step) < decay:
        step += 1
    return step
