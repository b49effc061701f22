"""Training the peer the way diffusers' own training examples do, on exactly the harness's batches and draws."""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from ..config import RunConfig
from ..data import Mnist
from ..devices import memory_format
from ..generate import NULL_LABEL
from ..train import Batches, step_generator
from ._diffusers import load_diffusers, peer_schedulers, peer_unet


@dataclass
class PeerTraining:
    model: nn.Module  # the EMA weights after the last step (what the peer samples with)
    steps: int  # optimiser steps taken
    seconds: float  # time spent in optimiser steps (data, forward, backward, update, EMA)
    images_per_s: float
    parameters: int
    snapshots: dict[float, tuple[int, nn.Module]] = field(default_factory=dict)  # step-time budget -> (steps, EMA weights)


def train_peer(cfg: RunConfig, data: Mnist, device: torch.device, snapshot_at_s: tuple[float, ...] = (),
               progress: bool = True) -> PeerTraining:
    """cfg.train.steps AdamW steps of the peer U-Net, with the harness's learning-rate warm-up and decay,
    gradient clipping, label dropout and EMA decay; the batch, t and noise of step k are the harness's own.

    `snapshot_at_s`: step-time budgets (seconds) at which a copy of the EMA weights is kept, to judge the
    peer at the wall time the harness needed.
    """
    lib = load_diffusers()
    from diffusers.optimization import get_scheduler
    from diffusers.training_utils import EMAModel

    tc = cfg.train
    torch.manual_seed(tc.seed)
    unet = peer_unet(cfg).to(device).to(memory_format=memory_format(device)).train()
    ddpm, _ = peer_schedulers(cfg)
    opt = torch.optim.AdamW(unet.parameters(), lr=tc.lr, weight_decay=tc.weight_decay)
    lr = get_scheduler("cosine" if tc.lr_decay == "cosine" else "constant_with_warmup", opt,
                       num_warmup_steps=tc.warmup_steps, num_training_steps=tc.steps)
    ema = EMAModel(unet.parameters(), decay=tc.ema_decay, model_cls=lib.UNet2DModel, model_config=unet.config)
    ema.to(device)
    batches = Batches(data.train, tc.batch_size, tc.seed, cfg.data.pad_to_32)
    pending = sorted(snapshot_at_s)
    run = PeerTraining(unet, 0, 0.0, 0.0, sum(p.numel() for p in unet.parameters()))
    for step in tqdm(range(tc.steps), disable=not progress, desc="train diffusers peer", unit="step"):
        t0 = time.perf_counter()
        g = step_generator(tc.seed, step)
        x0, y = batches(step)
        t = torch.randint(0, ddpm.config.num_train_timesteps, (len(y),), generator=g)
        noise = torch.randn(x0.shape, generator=g)
        drop = torch.rand(len(y), generator=g) < tc.p_uncond
        y = torch.where(drop, torch.full_like(y, NULL_LABEL), y)
        x0, y, t, noise = (v.to(device) for v in (x0, y, t, noise))
        noisy = ddpm.add_noise(x0, noise, t)
        loss = F.mse_loss(unet(noisy, t, class_labels=y).sample, noise)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if tc.grad_clip:
            torch.nn.utils.clip_grad_norm_(unet.parameters(), tc.grad_clip)
        opt.step()
        lr.step()
        ema.step(unet.parameters())
        if device.type == "cuda":
            torch.cuda.synchronize()
        run.seconds += time.perf_counter() - t0
        run.steps = step + 1
        while pending and run.seconds >= pending[0]:
            run.snapshots[pending.pop(0)] = (run.steps, _ema_copy(unet, ema))
    for budget in pending:  # the peer finished inside the budget: its final weights are its state then
        run.snapshots[budget] = (run.steps, _ema_copy(unet, ema))
    run.model = _ema_copy(unet, ema)
    run.images_per_s = run.steps * tc.batch_size / run.seconds
    return run


def _ema_copy(unet: nn.Module, ema: object) -> nn.Module:
    """A frozen copy of the network carrying the EMA weights."""
    model = copy.deepcopy(unet).eval().requires_grad_(False)
    ema.copy_to(model.parameters())  # type: ignore[attr-defined]
    return model
