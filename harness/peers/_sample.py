"""Sampling the peer as diffusers' pipelines do: DDIMScheduler steps, guidance's two passes in one batch."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..config import SampleConfig
from ..generate import NULL_LABEL


@torch.inference_mode()
def sample_peer(unet: nn.Module, ddim: object, cfg: SampleConfig, labels: Tensor, image_size: int,
                generator: torch.Generator) -> Tensor:
    """Song et al. 2021 (DDIM) with Ho & Salimans 2022 guidance, via diffusers: (N, 1, H, W) in [-1, 1]."""
    device = next(unet.parameters()).device
    unet.eval()
    ddim.set_timesteps(cfg.steps)  # type: ignore[attr-defined]
    out = []
    for batch in labels.split(cfg.batch_size):
        y = batch.to(device)
        x = torch.randn((len(y), 1, image_size, image_size), generator=generator, device=device)  # (B, 1, H, W)
        for t in ddim.timesteps:  # type: ignore[attr-defined]
            eps = _guided_eps(unet, x, t, y, cfg.guidance)
            x = ddim.step(eps, t, x, eta=cfg.eta).prev_sample  # type: ignore[attr-defined]
        out.append(x.clamp(-1, 1))
    return torch.cat(out)


def _guided_eps(unet: nn.Module, x: Tensor, t: Tensor, y: Tensor, w: float) -> Tensor:
    """The same passes the harness runs: unconditional only at w = 0, conditional only at w = 1, else both."""
    null = torch.full_like(y, NULL_LABEL)
    if w in (0.0, 1.0):
        return unet(x, t, class_labels=null if w == 0.0 else y).sample
    cond, uncond = unet(torch.cat([x, x]), t, class_labels=torch.cat([y, null])).sample.chunk(2)
    return uncond + w * (cond - uncond)
