"""Speed: training and sampling throughput, FLOPs per step against the machine's matmul peak in the step's precision."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import torch
from torch import Tensor, nn
from torch.profiler import ProfilerActivity, profile
from torch.utils.flop_counter import FlopCounterMode

from .._util import loss_scaler, memory_format, training_precision
from ..config import RunConfig
from ..core import NUM_CLASSES, Diffusion, Objective
from ..nn import count_parameters
from ..runs import adamw, build_model, generate, grid_labels, network_passes

T = TypeVar("T")

PRECISION_NAMES = {torch.float32: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}  # TrainSpeed.precision
MATMUL_N = 2048  # side of the square matmul that calibrates the machine
PEAK_WINDOWS = 4  # timing windows per peak reading: the fastest counts


def matmul_peak_gflops(device: torch.device, seconds: float = 2.0, dtype: torch.dtype = torch.float32,
                       windows: int = PEAK_WINDOWS) -> float:
    """GFLOP/s of repeated (N x N) @ (N x N) matmuls in `dtype` in the fastest of `windows` windows of
    `seconds` in all: this machine's practical peak (`best_rate`)."""
    a = torch.randn(MATMUL_N, MATMUL_N, device=device, dtype=dtype)
    b = torch.randn(MATMUL_N, MATMUL_N, device=device, dtype=dtype)
    for _ in range(2):
        a @ b
    return best_rate(lambda: a @ b, 2 * MATMUL_N**3, seconds, windows, device) / 1e9


def best_rate(work: Callable[[], object], flop: float, seconds: float, windows: int, device: torch.device,
              clock: Callable[[], float] = time.perf_counter) -> float:
    """FLOP/s of `work` (`flop` FLOPs a call) in the fastest of `windows` windows of about seconds / windows.

    A shared VM's speed swings within seconds, and a slow spell only ever lowers a window's rate, so the best
    window is the peak; a single long window can read a "peak" below the train step's own rate.
    """
    best = 0.0
    for _ in range(windows):
        n, t0 = 0, clock()
        while clock() - t0 < seconds / windows:
            work()
            n += 1
        synchronize(device)
        best = max(best, flop * n / (clock() - t0))
    return best


def train_step(cfg: RunConfig, device: torch.device) -> tuple[Callable[[], None], nn.Module]:
    """One optimiser step of the config's network on a fixed random batch (loss, backward, AdamW) as a closure
    (under autocast where `devices.training_precision` says so, fp16 with its loss scaling), and the network it
    trains."""
    torch.manual_seed(0)
    model = build_model(cfg).to(device).to(memory_format=memory_format(device))
    opt = adamw(model, cfg.train)
    objective = Objective(Diffusion(cfg.diffusion), cfg.train)
    draws = torch.Generator().manual_seed(0)
    size, bs = cfg.data.image_size, cfg.train.batch_size
    precision = training_precision(cfg.train.amp, cfg.train.cpu_bf16, device)
    scaler = loss_scaler(device, precision)
    x0 = torch.rand(bs, 1, size, size, device=device) * 2 - 1  # (B, 1, H, W)
    y = torch.randint(0, NUM_CLASSES, (bs,), device=device)

    def step() -> None:
        t = objective.draw(bs, draws).to(device)  # the config's noise sampling and loss weighting, as in training
        eps = torch.randn_like(x0)
        loss = objective.loss(model, x0, t, eps, y, precision)
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()

    return step, model


def step_profile(cfg: RunConfig, device: torch.device, steps: int = 10, rows: int = 20) -> str:
    """torch.profiler's table of `steps` optimiser steps (after 3 untimed ones): the `rows` operators with the
    most self time, one row per operator and input shape, so each convolution of the network reads apart."""
    step, _ = train_step(cfg, device)
    for _ in range(3):
        step()
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    with profile(activities=activities, record_shapes=True) as prof:
        for _ in range(steps):
            step()
        synchronize(device)
    sort_by = "self_cuda_time_total" if device.type == "cuda" else "self_cpu_time_total"
    return prof.key_averages(group_by_input_shape=True).table(sort_by=sort_by, row_limit=rows,
                                                              max_name_column_width=40, max_shapes_column_width=60)


@dataclass(frozen=True)
class TrainSpeed:
    images_per_s: float  # training images per second
    ms_per_step: float  # wall time of one optimiser step
    gflop_per_step: float  # forward + backward FLOPs of one step (convs, matmuls), counted by torch
    gflops: float  # achieved GFLOP/s
    peak_gflops: float  # the machine's matmul GFLOP/s in `precision`: the best window before and after the steps
    fraction_of_peak: float  # gflops / peak_gflops
    parameters: int
    precision: str = "fp32"  # the step's arithmetic: fp32, or bf16 / fp16 under autocast (then the peak is theirs)


def measure_train_step(cfg: RunConfig, device: torch.device, steps: int = 10, warmup: int = 3) -> TrainSpeed:
    """Time `steps` real optimiser steps of the config's network at its batch size, against the matmul peak
    in the step's precision (a bf16 or fp16 step against fp32's peak would read as a higher fraction than it is)."""
    step, model = train_step(cfg, device)
    with FlopCounterMode(display=False) as counter:
        step()
    for _ in range(warmup):
        step()
    peak_dtype = training_precision(cfg.train.amp, cfg.train.cpu_bf16, device) or torch.float32
    # the peak is read before and after the steps: the machine's speed drifts within a run
    before = matmul_peak_gflops(device, seconds=1.0, dtype=peak_dtype)
    _, total = timed(device, lambda: [step() for _ in range(steps)])
    peak = max(before, matmul_peak_gflops(device, seconds=1.0, dtype=peak_dtype))
    seconds = total / steps
    flops = counter.get_total_flops() / 1e9
    bs = cfg.train.batch_size
    return TrainSpeed(bs / seconds, seconds * 1000, flops, flops / seconds, peak, flops / seconds / peak,
                      count_parameters(model), PRECISION_NAMES[peak_dtype])


@dataclass(frozen=True)
class SampleSpeed:
    images_per_s: float  # finished samples per second
    ms_per_evaluation: float  # wall time of one step's network evaluation of a sampling batch (all its calls)
    evaluations_per_sample: int  # network calls per sample (a guided step batches two passes into one call)
    images: int  # how many samples were timed


def measure_sampling(model: nn.Module, diffusion: Diffusion, cfg: RunConfig, per_class: int) -> SampleSpeed:
    """Time drawing `per_class` samples of each digit with cfg.sample."""
    device = next(model.parameters()).device
    g = torch.Generator(device=device).manual_seed(0)
    return timed_generate(model, diffusion, cfg, grid_labels(per_class), g)[1]


def timed_generate(model: nn.Module, diffusion: Diffusion, cfg: RunConfig, labels: Tensor,
                   g: torch.Generator) -> tuple[Tensor, SampleSpeed]:
    """Samples of `labels` with cfg.sample (in [-1, 1]), and how fast they were drawn."""
    device = next(model.parameters()).device
    images, seconds = timed(device, lambda: generate(model, diffusion, cfg.sample, labels, cfg.data.image_size, g))
    batches = -(-len(labels) // cfg.sample.batch_size)
    evaluations = network_passes(cfg.sample, diffusion, conditional=False)  # network calls: guidance batches its two
    return images, SampleSpeed(len(labels) / seconds, seconds * 1000 / (batches * evaluations), evaluations,
                               len(labels))


def timed(device: torch.device, work: Callable[[], T]) -> tuple[T, float]:
    """work()'s result and its wall time in seconds, with queued GPU work included."""
    synchronize(device)
    t0 = time.perf_counter()
    result = work()
    synchronize(device)
    return result, time.perf_counter() - t0


def finished(work: Callable[[], T], device: torch.device) -> Callable[[], T]:
    """`work`, returning only once the device has done it (CUDA queues work and returns at once): for a timer
    that calls it, as pytest-benchmark does."""
    def call() -> T:
        out = work()
        synchronize(device)
        return out
    return call


def synchronize(device: torch.device) -> None:
    """Wait for the device's queued work, so a clock reading covers it (CUDA runs asynchronously)."""
    if device.type == "cuda":
        torch.cuda.synchronize()
