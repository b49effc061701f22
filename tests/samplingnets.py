"""Fixed tiny networks that sampling tests can check by hand: shared by test_samplers and test_generate."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from harness.config import DiffusionConfig, RunConfig, resolve_config
from harness.core import Diffusion
from harness.runs import build_model

T = 20  # timesteps of the hand-checkable diffusion


class AffineNet(nn.Module):
    """A fixed tiny 'network': out = x / 4 + (t / T) / 16 + y / 64 (exact in binary), checkable by hand."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.tensor(0.25))
        self.class_embed = nn.Embedding(11, 1)  # marks the net as conditional for guided_denoiser

    def forward(self, x: Tensor, t: Tensor, y: Tensor) -> Tensor:
        return self.w * x + 0.0625 * (t.to(x.dtype) / T).view(-1, 1, 1, 1) + 0.015625 * y.to(x.dtype).view(-1, 1, 1, 1)


def setup(seed: int = 0) -> tuple[Diffusion, Tensor, Tensor]:
    """A diffusion of T steps, four 2x2 float64 noise images and their labels."""
    diffusion = Diffusion(DiffusionConfig(schedule="linear_scaled", timesteps=T))
    x = torch.randn(4, 1, 2, 2, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return diffusion, x, torch.tensor([0, 3, 7, 9])


def tiny_unet(sampler: str = "ddim", *overrides: str) -> tuple[nn.Module, RunConfig]:
    """A fixed, non-trivial 2-level U-Net: every weight drawn from one seed; eps on the linear schedule (the first
    baseline), which the golden values were recorded with."""
    cfg = resolve_config("baseline_v1", "smoke", ["model.channels=[8, 16]", "model.embed_dim=16", "diffusion.timesteps=50",
                                                  f"sample.sampler={sampler}", "sample.steps=10", "sample.guidance=3",
                                                  *overrides])
    model = build_model(cfg)
    for p in model.parameters():
        torch.nn.init.normal_(p, std=0.2, generator=torch.Generator().manual_seed(p.numel()))
    return model, cfg
