"""Exponential moving average of a network's weights."""

from __future__ import annotations

import copy

import torch
from torch import nn


class EMA:
    """Polyak averaging: shadow <- d * shadow + (1 - d) * weights after every optimiser step.

    The decay warms up as min(decay, (1 + k) / (10 + k)) at step k, so a short run is not dominated
    by its random initialisation.
    """

    def __init__(self, model: nn.Module, decay: float) -> None:
        self.decay = decay  # the decay once warmed up, e.g. 0.995
        self.model = copy.deepcopy(model).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module, step: int) -> None:
        d = min(self.decay, (1 + step) / (10 + step))
        shadow = [p for p in self.model.parameters()]
        live = [p.detach() for p in model.parameters()]
        torch._foreach_lerp_(shadow, live, 1.0 - d)
