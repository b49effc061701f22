"""Sampling the peer as diffusers' pipelines do: DDIMScheduler steps, guidance's two passes in one batch."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..config import SampleConfig
from ..devices import compiled
from ..generate import guided_output, split_calls
from ._diffusers import PeerNetwork


@torch.inference_mode()
def sample_peer(unet: nn.Module, ddim: object, cfg: SampleConfig, labels: Tensor, image_size: int,
                generator: torch.Generator, max_batch: int | None = None) -> Tensor:
    """Song et al. 2021 (DDIM) with Ho & Salimans 2022 guidance, via diffusers: (N, 1, H, W) in [-1, 1].

    The network sees at most `max_batch` images per call; None: the whole doubled batch, as diffusers'
    pipelines call it."""
    device = next(unet.parameters()).device
    network = PeerNetwork(unet).eval()
    network = compiled(network) if cfg.compile else network  # as the harness compiles its own
    network = split_calls(network, max_batch)
    ddim.set_timesteps(cfg.steps)  # type: ignore[attr-defined]
    out = []
    for batch in labels.split(cfg.batch_size):
        y = batch.to(device)
        x = torch.randn((len(y), 1, image_size, image_size), generator=generator, device=device)  # (B, 1, H, W)
        for t in ddim.timesteps:  # type: ignore[attr-defined]
            eps = guided_output(network, x, t.expand(len(y)), y, cfg.guidance)  # the harness's passes
            # the harness's algorithm: x0 clipped to [-1, 1] and eps recomputed from it. diffusers' default
            # (clipped x0, unclipped eps) is inconsistent under guidance: at w = 3 it drew noise-like digits that
            # the classifier read at chance, from a network whose validation MSE matched the harness's
            x = ddim.step(eps, t, x, eta=cfg.eta, use_clipped_model_output=True).prev_sample  # type: ignore[attr-defined]
        out.append(x.clamp(-1, 1))
    return torch.cat(out)
