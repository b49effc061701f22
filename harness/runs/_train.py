"""Training: AdamW with warm-up, gradient clipping, EMA, validation MSE, checkpoints, exact resume.

Every random draw of step k (batch order, t, noise, label dropout, network dropout) comes from
seeds derived from (train.seed, k), so a run resumed from a checkpoint ends with the same weights
as one that never stopped.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch
from torch import Tensor, nn
from tqdm import tqdm

from .._util import (
    CheckpointError,
    ConfigError,
    Interrupted,
    loss_scaler,
    memory_format,
    resolve_device,
    sweep_partial_files,
    training_precision,
    write_json,
)
from ..config import RunConfig, TrainConfig, config_hash, config_to_dict, kept_step
from ..core import NULL_LABEL, Diffusion, Objective
from ..data import Split, load_mnist, to_model_range
from ..nn import EMA, PowerEMA
from ._checkpoint import CHECKPOINT, TrainedModel, build_model, checkpoint_config, load_checkpoint, save_checkpoint
from ._guide import save_kept_weights, with_guide
from ._images import write_sample_grid
from ._posthoc import save_snapshot, snapshot_bytes
from ._trainlog import TrainLog

LOG_EVERY = 10  # steps between CSV rows (validation steps are always logged)
OnValidation = Callable[[int, float], None]  # (step, validation MSE); may raise to stop training (a pruner)
VAL_SEED = 20_240_601  # fixed noise and t for validation, so every run is measured on the same draws


@dataclass
class TrainResult:
    status: str  # "finished" or "diverged"
    step: int  # optimiser steps completed
    message: str  # one line for the user
    seconds: float  # wall time of this call's training loop
    images_per_s: float  # training throughput of this call (0 when nothing was trained)
    loss: float | None  # last training loss
    val_loss: float | None  # last validation MSE of the weights used for sampling (EMA when kept)
    ema_snapshot_bytes: int = 0  # disk used by the post-hoc EMA snapshots (train.ema_profiles)


def step_seed(seed: int, step: int) -> int:
    """The seed of step `step`'s random draws: each step's draws are independent of how the run was split up
    (a resumed run draws what an uninterrupted one would)."""
    return seed * 1_000_003 + step


def step_generator(seed: int, step: int) -> torch.Generator:
    """The generator of step `step`'s batch, timestep and noise draws."""
    return torch.Generator().manual_seed(step_seed(seed, step))


def learning_rate(cfg: TrainConfig, step: int) -> float:
    """Linear warm-up to cfg.lr, then constant or cosine decay to 0 at cfg.steps."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    if cfg.lr_decay == "constant":
        return cfg.lr
    progress = (step - cfg.warmup_steps) / max(1, cfg.steps - cfg.warmup_steps)
    return cfg.lr * 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))


def adamw(model: nn.Module, tc: TrainConfig) -> torch.optim.AdamW:
    """Loshchilov & Hutter 2019's AdamW, fused: one kernel for all parameters instead of a Python loop over
    them, which costs more than the update itself for a small network's many tensors."""
    return torch.optim.AdamW(model.parameters(), lr=tc.lr, weight_decay=tc.weight_decay, fused=True)


class Batches:
    """Batch k of an epoch-wise shuffle of a split; epoch e's order is a function of (seed, e)."""

    def __init__(self, split: Split, batch_size: int, seed: int, pad_to_32: bool) -> None:
        if batch_size > len(split):
            raise ConfigError(f"train.batch_size={batch_size} is larger than the {len(split)} training digits")
        self.x = to_model_range(split.images, pad_to_32)  # (N, 1, H, W) in [-1, 1]
        self.y = split.labels
        self.batch_size, self.seed = batch_size, seed
        self.per_epoch = len(split) // batch_size
        self._epoch, self._order = -1, torch.empty(0, dtype=torch.long)

    def __call__(self, step: int) -> tuple[Tensor, Tensor]:
        epoch, k = divmod(step, self.per_epoch)
        if epoch != self._epoch:
            self._epoch = epoch
            self._order = torch.randperm(len(self.y), generator=torch.Generator().manual_seed(self.seed + 7919 * epoch))
        idx = self._order[k * self.batch_size : (k + 1) * self.batch_size]
        return self.x[idx], self.y[idx]


TimeDraw = Callable[[int, torch.Generator], Tensor]  # (n, generator) -> n training times


def step_draws(batches: Batches, times: TimeDraw, tc: TrainConfig, step: int) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Step `step`'s clean images (B, 1, H, W), labels (B,) with the condition dropped to the null label
    with probability tc.p_uncond, times t (B,) from `times` and noise (B, 1, H, W): all from
    step_generator(seed, step)."""
    g = step_generator(tc.seed, step)
    x0, y = batches(step)
    t = times(len(y), g)
    eps = torch.randn(x0.shape, generator=g)
    drop = torch.rand(len(y), generator=g) < tc.p_uncond
    return x0, torch.where(drop, torch.full_like(y, NULL_LABEL), y), t, eps


class Validator:
    """Mean MSE on a fixed validation subset with fixed t and noise."""

    def __init__(self, split: Split, n: int, diffusion: Diffusion, pad_to_32: bool, device: torch.device) -> None:
        n = min(n, len(split))
        g = torch.Generator().manual_seed(VAL_SEED)
        self.x0 = to_model_range(split.images[:n], pad_to_32)
        self.y = split.labels[:n]
        self.t = diffusion.times(n, g)  # uniform over the formulation's time, whatever training draws
        self.eps = torch.randn(self.x0.shape, generator=g)
        self.diffusion, self.device = diffusion, device

    @torch.inference_mode()
    def __call__(self, model: nn.Module, precision: torch.dtype | None, batch: int = 500) -> float:
        was_training = model.training
        model.eval()
        total = 0.0
        for sl in torch.arange(len(self.y)).split(batch):
            x0, eps, t, y = (v[sl].to(self.device) for v in (self.x0, self.eps, self.t, self.y))
            total += float(self.diffusion.network_loss(model, x0, t, eps, y, precision).sum())
        model.train(was_training)
        return total / len(self.y)


def train(cfg: RunConfig, out_dir: Path, progress: bool = True, grid: bool = True,
          on_validation: OnValidation | None = None) -> TrainResult:
    """Train the network `cfg` describes into `out_dir`, resuming from its checkpoint if one is there.

    `on_validation(step, mse)` is called after every validation measurement (Optuna's pruner listens here).
    """
    out_dir = Path(out_dir)
    resume = _compatible_checkpoint(cfg, out_dir)
    if resume is not None and resume.get("status") == "finished":
        return TrainResult("finished", int(resume["step"]), f"{out_dir} already holds the finished run; nothing to do",
                           0.0, 0.0, None, None)
    device = resolve_device(cfg.train.device)
    tc = cfg.train
    precision = training_precision(tc.amp, tc.cpu_bf16, device)  # refuses train.cpu_bf16 without native bf16, before any write
    data = load_mnist(cfg.data)  # data and batch-size errors come before anything is written
    diffusion = Diffusion(cfg.diffusion)
    objective = Objective(diffusion, tc)
    batches = Batches(data.train, tc.batch_size, tc.seed, cfg.data.pad_to_32)
    validate = Validator(data.val, tc.val_images, diffusion, cfg.data.pad_to_32, device)
    out_dir.mkdir(parents=True, exist_ok=True)
    sweep_partial_files(out_dir)  # what a killed earlier run was writing
    write_json(out_dir / "config.json", config_to_dict(cfg))
    torch.manual_seed(tc.seed)
    model = build_model(cfg).to(device).to(memory_format=memory_format(device))
    ema = EMA(model, tc.ema_decay) if tc.ema else None
    power = PowerEMA(model, tc.ema_profiles) if tc.ema_profiles else None
    optimizer = adamw(model, tc)
    scaler = loss_scaler(device, precision)
    start = 0
    if resume is not None:
        model.load_state_dict(resume["model"])
        optimizer.load_state_dict(resume["optimizer"])
        if resume.get("scaler"):  # the fp16 loss scale (empty without fp16, absent before it was kept)
            scaler.load_state_dict(resume["scaler"])
        if ema is not None:
            ema.model.load_state_dict(resume["ema"])
        if power is not None:
            power.load_state_dict(resume["power_ema"])
        start = int(resume["step"])
    log = TrainLog(out_dir / "train_log.csv", start)
    loop = _Loop(cfg, out_dir, model, ema, power, optimizer, scaler, objective, batches, validate, log, device, precision,
                 on_validation)
    result = loop.run(start, progress)
    if power is not None:
        result = replace(result, ema_snapshot_bytes=snapshot_bytes(out_dir))
    write_json(out_dir / "train_result.json", asdict(result))
    if grid and result.status == "finished":
        sampler_model = ema.model if ema is not None and cfg.sample.use_ema else model
        sampler = with_guide(TrainedModel(cfg, sampler_model, diffusion, tc.steps, sampler_model is not model), out_dir,
                             cfg.sample, device)
        write_sample_grid(sampler.model, diffusion, cfg, out_dir / "samples.png", seed=tc.seed)
    return result


def _compatible_checkpoint(cfg: RunConfig, out_dir: Path) -> dict | None:
    """The checkpoint in `out_dir` if it is of this very config; an error if it is of another."""
    path = out_dir / CHECKPOINT
    if not path.exists():
        return None
    state = load_checkpoint(path)
    if state.get("config_hash") != config_hash(cfg):
        other = checkpoint_config(state, path)
        raise CheckpointError(
            f"{out_dir} holds a run of another config (preset {other.preset}, budget {other.budget}, hash "
            f"{state.get('config_hash')}; this one is {config_hash(cfg)}); choose another --out or remove that folder")
    return state


class _Loop:
    """The optimisation loop of one `train` call."""

    def __init__(self, cfg: RunConfig, out_dir: Path, model: nn.Module, ema: EMA | None, power: PowerEMA | None,
                 optimizer: torch.optim.Optimizer, scaler: torch.amp.GradScaler, objective: Objective,
                 batches: Batches, validate: Validator, log: TrainLog, device: torch.device,
                 precision: torch.dtype | None,
                 on_validation: OnValidation | None) -> None:
        self.cfg, self.tc, self.out_dir = cfg, cfg.train, out_dir
        self.model, self.ema, self.power, self.optimizer, self.scaler = model, ema, power, optimizer, scaler
        self.snapshot_every = cfg.train.ema_snapshot_every or cfg.train.checkpoint_every
        self.keep_steps = {kept_step(f, cfg.train.steps) for f in cfg.train.keep_weights_at}
        self.objective, self.batches, self.validate, self.log, self.device = objective, batches, validate, log, device
        self.precision = precision  # autocast dtype, None for fp32 (`devices.training_precision`)
        self.on_validation = on_validation
        self.last_checkpoint = 0

    def run(self, start: int, progress: bool) -> TrainResult:
        tc = self.tc
        self.last_checkpoint = start
        t0, trained_s, loss, val = time.perf_counter(), 0.0, None, None
        bar = tqdm(range(start, tc.steps), initial=start, total=tc.steps, disable=not progress,
                   desc=f"train {self.out_dir.name}", unit="step", dynamic_ncols=True)
        try:
            for step in bar:
                ts = time.perf_counter()
                loss, grad_norm = self.step(step)
                trained_s += time.perf_counter() - ts
                if not math.isfinite(loss):
                    msg = f"diverged at step {step + 1}: training loss is {loss}; last good checkpoint is step {self.last_checkpoint}"
                    return TrainResult("diverged", step, msg, time.perf_counter() - t0, 0.0, loss, val)
                done = step + 1
                if done % tc.val_every == 0 or done == tc.steps:
                    val = self._validate_and_log(done, loss, grad_norm, trained_s, start, t0)
                    bar.set_postfix(loss=f"{loss:.4f}", val=f"{val:.4f}")
                elif done % LOG_EVERY == 0:
                    self.log.append(step=done, loss=loss, lr=learning_rate(tc, step), grad_norm=grad_norm,
                                    images_per_s=self._rate(done, start, trained_s), elapsed_s=time.perf_counter() - t0)
                    bar.set_postfix(loss=f"{loss:.4f}")
                if done in self.keep_steps:  # autoguidance's guides: this step's weights, the EMA's when kept
                    save_kept_weights(self.out_dir, done, (self.ema.model if self.ema is not None else self.model).state_dict())
                if self.power is not None and (done % self.snapshot_every == 0 or done == tc.steps):
                    save_snapshot(self.out_dir, done, self.power)  # before the checkpoint: a resumed run rewrites it
                if done % tc.checkpoint_every == 0 or done == tc.steps:
                    self.checkpoint(done, "finished" if done == tc.steps else "running")
                if self.on_validation is not None and val is not None and done % tc.val_every == 0:
                    self.on_validation(done, val)  # after the checkpoint: a stopped run keeps this step
        except KeyboardInterrupt:
            raise Interrupted(f"interrupted; the last checkpoint is step {self.last_checkpoint} of {tc.steps}: "
                              f"run the same command again to resume from it") from None
        finally:
            bar.close()
        rate = self._rate(tc.steps, start, trained_s)
        return TrainResult("finished", tc.steps, f"trained {tc.steps} steps into {self.out_dir}",
                           time.perf_counter() - t0, rate, loss, val)

    def step(self, step: int) -> tuple[float, float]:
        """One optimiser step; returns (loss, gradient norm before clipping)."""
        tc = self.tc
        torch.manual_seed(step_seed(tc.seed, step))  # network dropout draws from the global RNG
        draws = step_draws(self.batches, self.objective.draw, tc, step)
        x0, y, t, eps = (v.to(self.device) for v in draws)
        for group in self.optimizer.param_groups:
            group["lr"] = learning_rate(tc, step)
        loss = self.objective.loss(self.model, x0, t, eps, y, self.precision)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.unscale_(self.optimizer)  # clip the true gradients, not the scaled ones
        grad_norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), tc.grad_clip or float("inf"))
        loss_value = float(loss.detach())
        if math.isfinite(loss_value):  # never let a NaN step reach the weights or the EMA
            self.scaler.step(self.optimizer)  # skips the update when fp16 gradients overflowed
            if self.ema is not None:
                self.ema.update(self.model, step)
            if self.power is not None:
                self.power.update(self.model, step)
        self.scaler.update()  # after every unscale_, or the next step's unscale_ raises; an overflow lowers the scale
        return loss_value, float(grad_norm)

    def checkpoint(self, step: int, status: str) -> None:
        state = {"step": step, "status": status, "model": self.model.state_dict(),
                 "ema": self.ema.model.state_dict() if self.ema is not None else None,
                 "power_ema": self.power.state_dict() if self.power is not None else None,
                 "optimizer": self.optimizer.state_dict(), "scaler": self.scaler.state_dict()}
        save_checkpoint(self.out_dir / CHECKPOINT, self.cfg, state)
        self.last_checkpoint = step

    def _validate_and_log(self, done: int, loss: float, grad_norm: float, trained_s: float, start: int, t0: float) -> float:
        val_raw = self.validate(self.model, self.precision)
        val_ema = self.validate(self.ema.model, self.precision) if self.ema is not None else None
        self.log.append(step=done, loss=loss, lr=learning_rate(self.tc, done - 1), grad_norm=grad_norm,
                        val_loss=val_raw, val_loss_ema=val_ema, images_per_s=self._rate(done, start, trained_s),
                        elapsed_s=time.perf_counter() - t0)
        return val_ema if val_ema is not None else val_raw

    def _rate(self, done: int, start: int, trained_s: float) -> float:
        return (done - start) * self.tc.batch_size / trained_s if trained_s > 0 else 0.0
