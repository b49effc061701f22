"""How both systems' digits are judged: the reference classifier's accuracy and FID in its feature space."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from ...config import RunConfig
from ...data import Mnist
from ...metrics import sample_metrics, save_digit_grid
from ...runs import to_uint8

JUDGED = {"class_acc", "fid"}
NOISE_SEED = 0  # every judged draw, of either system, starts from the same noise


def judged_noise(device: torch.device) -> torch.Generator:
    """The generator of a judged draw: seeded alike for every system, so their digits start from the same noise."""
    return torch.Generator(device=device).manual_seed(NOISE_SEED)


@dataclass(frozen=True)
class Quality:
    class_acc: float  # the reference classifier reads the intended digit
    fid: float  # FID in the reference classifier's feature space, against the 10k test digits


def judge(images: Tensor, labels: Tensor, data: Mnist, cfg: RunConfig, grid: Path | None = None) -> Quality:
    """Accuracy and FID of `images` (N, 1, H, W) in [-1, 1] drawn for `labels` (N,); with `grid`, a sample grid
    (one row per digit) saved there too."""
    digits = to_uint8(images).cpu()
    if grid is not None:
        save_digit_grid(digits, labels, cfg.sample.grid_per_class, grid)
    m = sample_metrics(digits, labels, data, cfg, JUDGED)
    return Quality(m["class_acc"], m["fid"])
