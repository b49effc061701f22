"""Sampling the peer as diffusers' pipelines do: DDIMScheduler steps, guidance's two passes in one batch."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import torch
from torch import Tensor, nn

from ..._util import bf16_sampling, compiled
from ...config import RunConfig, SampleConfig
from ...metrics import timed
from ...runs import guided_network
from ._diffusers import PeerNetwork, peer_schedulers, peer_unet


@torch.inference_mode()
def sample_peer(unet: nn.Module, ddim: object, cfg: SampleConfig, labels: Tensor, image_size: int,
                generator: torch.Generator, max_batch: int | None = None) -> Tensor:
    """Song et al. 2021 (DDIM) with Ho & Salimans 2022 guidance, via diffusers: (N, 1, H, W) in [-1, 1].

    The network sees at most `max_batch` images per call; None: the whole doubled batch, as diffusers'
    pipelines call it. Guidance and precision through the harness's `guided_network`: bf16 calls, fp32 guidance."""
    device = next(unet.parameters()).device
    amp = bf16_sampling(cfg.precision, device)
    model = PeerNetwork(unet).eval()
    model = compiled(model) if cfg.compile else model  # as the harness compiles its own
    ddim.set_timesteps(cfg.steps)  # type: ignore[attr-defined]
    out = []
    for batch in labels.split(cfg.batch_size):
        y = batch.to(device)
        x = torch.randn((len(y), 1, image_size, image_size), generator=generator, device=device)  # (B, 1, H, W)
        network = guided_network(model, y, cfg.guidance, amp=amp, max_batch=max_batch)  # the harness's passes
        for t in ddim.timesteps:  # type: ignore[attr-defined]
            eps = network(x, t.expand(len(y)))
            # the harness's algorithm: x0 clipped to [-1, 1] and eps recomputed from it. diffusers' default
            # (clipped x0, unclipped eps) is inconsistent under guidance: at w = 3 it drew noise-like digits that
            # the classifier read at chance, from a network whose validation MSE matched the harness's
            x = ddim.step(eps, t, x, eta=cfg.eta, use_clipped_model_output=True).prev_sample  # type: ignore[attr-defined]
        out.append(x.clamp(-1, 1))
    return torch.cat(out)


def sample_peer_as_shipped(unet: nn.Module, cfg: RunConfig, labels: Tensor, seed: int) -> tuple[Tensor, float]:
    """`sample_peer` as a diffusers user runs it: one network call per step, in a fresh interpreter whose C
    allocator keeps its own settings (this one keeps freed memory, allocator.py). (images, seconds of the draw)."""
    device = next(unet.parameters()).device
    state = {k: v.cpu() for k, v in unet.state_dict().items()}
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(_draw_in_fresh_process, state, cfg, labels, seed, str(device), torch.get_num_threads()).result()


def _draw_in_fresh_process(state: dict[str, Tensor], cfg: RunConfig, labels: Tensor, seed: int, device: str,
                           threads: int) -> tuple[Tensor, float]:
    torch.set_num_threads(threads)  # as many as the harness's draws had
    unet = peer_unet(cfg).to(device)
    unet.load_state_dict(state)
    _, ddim = peer_schedulers(cfg)
    generator = torch.Generator(device=device).manual_seed(seed)
    images, seconds = timed(torch.device(device), lambda: sample_peer(unet, ddim, cfg.sample, labels,
                                                                     cfg.data.image_size, generator))
    return images.cpu(), seconds
