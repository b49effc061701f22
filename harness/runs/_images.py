"""Sample grids: one row per digit, written as PNG."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn
from torchvision.utils import make_grid, save_image

from .._util import atomic_write
from ..config import RunConfig
from ..core import Diffusion
from ._generate import generate, grid_labels, to_uint8


def save_grid(images_u8: torch.Tensor, per_row: int, path: Path) -> None:
    """(N, 28, 28) uint8 digits -> a PNG with `per_row` digits per row (row i = digit i)."""
    grid = make_grid(images_u8.unsqueeze(1).float() / 255.0, nrow=per_row, padding=2, pad_value=0.5)
    atomic_write(path, lambda f: save_image(grid, f, format="png"))


def write_sample_grid(model: nn.Module, diffusion: Diffusion, cfg: RunConfig, path: Path, seed: int) -> None:
    """Sample cfg.sample.grid_per_class digits of each class with cfg.sample and save them as a grid."""
    device = next(model.parameters()).device
    g = torch.Generator(device=device).manual_seed(seed)
    labels = grid_labels(cfg.sample.grid_per_class)
    images = generate(model, diffusion, cfg.sample, labels, cfg.data.image_size, g)
    save_grid(to_uint8(images).cpu(), cfg.sample.grid_per_class, path)
