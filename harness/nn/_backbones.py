"""The backbone registry: every member is built as (ModelConfig, image side, timesteps) -> nn.Module with
forward(x (B, 1, H, W), t (B,), y (B,)) -> (B, 1, H, W)."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from .._util import Registry
from ._dit import DiT
from ._unet import UNet

BACKBONES: Registry[Callable[..., nn.Module]] = Registry("backbone", "the denoising network")
BACKBONES.register("unet")(UNet)
BACKBONES.register("dit")(DiT)


def count_parameters(model: nn.Module) -> int:
    """Trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def forward_gflop(model: nn.Module, image_size: int) -> float:
    """GFLOP (2 per multiply-add, as torch counts) of the network's forward pass on one image: the unit in which a
    study compares backbones at equal compute."""
    x = torch.zeros(1, 1, image_size, image_size)  # (B, C, H, W)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(x, torch.zeros(1, dtype=torch.long), torch.zeros(1, dtype=torch.long))
    return counter.get_total_flops() / 1e9
