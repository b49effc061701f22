"""Training the peer the way diffusers' own training examples do, on exactly the harness's batches and draws."""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from ..._util import memory_format
from ...config import RunConfig
from ...core import Diffusion
from ...data import Mnist
from ...metrics import synchronize
from ...nn import count_parameters
from ...runs import Batches, step_draws
from ._diffusers import load_diffusers, peer_schedulers, peer_unet


@dataclass(frozen=True)
class PeerTraining:
    model: nn.Module  # the EMA weights after the last step (what the peer samples with)
    steps: int  # optimiser steps taken
    seconds: float  # time spent in optimiser steps (data, forward, backward, update, EMA)
    images_per_s: float
    parameters: int
    snapshots: dict[float, tuple[int, nn.Module]]  # step-time budget -> (steps taken by then, EMA weights)


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
    schedule = get_scheduler("cosine" if tc.lr_decay == "cosine" else "constant_with_warmup", opt,
                             num_warmup_steps=tc.warmup_steps, num_training_steps=tc.steps)
    ema = EMAModel(unet.parameters(), decay=tc.ema_decay, model_cls=lib.UNet2DModel, model_config=unet.config)
    ema.to(device)
    batches = Batches(data.train, tc.batch_size, tc.seed, cfg.data.pad_to_32)
    times = Diffusion(cfg.diffusion).times  # the harness's own draws of t: both see the same steps
    pending, snapshots, seconds = sorted(snapshot_at_s), {}, 0.0
    for step in tqdm(range(tc.steps), disable=not progress, desc="train diffusers peer", unit="step"):
        t0 = time.perf_counter()
        draws = step_draws(batches, times, tc, step)
        x0, y, t, noise = (v.to(device) for v in draws)
        # diffusers' own target: the noise, or get_velocity's v = sqrt(a_bar) eps - sqrt(1 - a_bar) x0
        target = noise if ddpm.config.prediction_type == "epsilon" else ddpm.get_velocity(x0, noise, t)
        loss = F.mse_loss(unet(ddpm.add_noise(x0, noise, t), t, class_labels=y).sample, target)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if tc.grad_clip:
            torch.nn.utils.clip_grad_norm_(unet.parameters(), tc.grad_clip)
        opt.step()
        schedule.step()
        ema.step(unet.parameters())
        synchronize(device)
        seconds += time.perf_counter() - t0
        while pending and seconds >= pending[0]:
            snapshots[pending.pop(0)] = (step + 1, _ema_copy(unet, ema))
    for budget in pending:  # the peer finished inside the budget: its final weights are its state then
        snapshots[budget] = (tc.steps, _ema_copy(unet, ema))
    return PeerTraining(_ema_copy(unet, ema), tc.steps, seconds, tc.steps * tc.batch_size / seconds,
                        count_parameters(unet), snapshots)


def _ema_copy(unet: nn.Module, ema: object) -> nn.Module:
    """A frozen copy of the network carrying the EMA weights."""
    model = copy.deepcopy(unet).eval().requires_grad_(False)
    ema.copy_to(model.parameters())  # type: ignore[attr-defined]
    return model
