"""The benchmarks' calibration kernels: fixed code on fixed operands, timed between each benchmark's rounds
(harness.perf's bench divides the benchmark's figure by its kernel), so that a comparison holds on a slower, busier or
different machine of one class.

Each benchmark is held against the kernel that shares its bottleneck, a frozen miniature of its inner loop. The
first yardstick, one 512 x 512 fp32 matmul for every benchmark, measures peak FLOP/s, which the suite's small
workloads do not reach: hosts of one class run a matmul and a small convolution at different relative speeds, so
a baseline in matmul units failed on other hosts with no code changed (docs/performance.md gives the figures).
The matmul is kept: a benchmark of its own, and the unit of baselines recorded before the kernels.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ..metrics import timed
from ._bench import MATMUL

CALIBRATION_N = 512  # side of the calibration matmul (0.27 GFLOP)
_WIDTHS = ((8, 28), (8, 14), (16, 7))  # (channels, side) of the smoke U-Net's three levels
_GROUPS = 8  # GroupNorm groups, as the U-Net's
_MNIST_TRAIN = 60_000  # MNIST's training images (the data path shuffles the 50,000 not held out for validation)


@dataclass(frozen=True)
class Kernel:
    name: str  # what a benchmark's @pytest.mark.calibrate(...) names
    stands_for: str  # the benchmarks' work it shares a bottleneck with
    prepare: Callable[[torch.device], Callable[[], object]]  # builds the fixed operands once; returns the call to time
    reps: int  # calls timed around one benchmark at least, spread over its rounds: about 0.05-0.1 s on 2 cores


def calibration_operands(device: torch.device = torch.device("cpu")) -> tuple[torch.Tensor, torch.Tensor]:
    """The calibration matmul's two fixed (512, 512) fp32 operands, drawn on the CPU (the same values everywhere)."""
    return tuple(torch.randn(CALIBRATION_N, CALIBRATION_N, generator=torch.Generator().manual_seed(k)).to(device)
                 for k in (0, 1))


def _matmul(device: torch.device) -> Callable[[], object]:
    a, b = calibration_operands(device)
    return lambda: torch.mm(a, b)


def _residual_levels(batch: int, device: torch.device, grad: bool) -> Callable[[], torch.Tensor]:
    """Two GroupNorm-SiLU-conv3x3 with a residual path at each of the smoke U-Net's widths; the sum of the outputs.
    Plain torch, not harness.nn: a slower U-Net must not slow its own yardstick."""
    g = torch.Generator().manual_seed(0)
    weights = [[(torch.randn(c, c, 3, 3, generator=g) * 0.1).to(device).requires_grad_(grad) for _ in range(2)]
               for c, _ in _WIDTHS]
    inputs = [torch.randn(batch, c, side, side, generator=g).to(device) for c, side in _WIDTHS]  # (B, C, H, W)

    def run() -> torch.Tensor:
        total = torch.zeros((), device=device)
        for x, (w1, w2) in zip(inputs, weights):
            h = F.conv2d(F.silu(F.group_norm(x, _GROUPS)), w1, padding=1)
            total = total + (F.conv2d(F.silu(F.group_norm(h, _GROUPS)), w2, padding=1) + x).sum()
        return total
    return run


def _network_step(device: torch.device) -> Callable[[], object]:
    run = _residual_levels(32, device, grad=True)  # the smoke training batch

    def step() -> torch.Tensor:
        total = run()
        total.backward()  # gradients accumulate over calls, as cheaply as they would be overwritten
        return total.detach()
    return step


def _network_forward(device: torch.device) -> Callable[[], object]:
    run = _residual_levels(64, device, grad=False)

    @torch.inference_mode()
    def forward() -> torch.Tensor:
        return run()
    return forward


def _poly_kernel(device: torch.device) -> Callable[[], object]:
    """On the CPU whatever `device`: KID is numpy code."""
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((500, 64)), rng.standard_normal((500, 64))  # (N, D) float64 features
    return lambda: (a @ b.T / 64 + 1) ** 3  # torch-fidelity's kernel_poly: degree 3, gamma 1/D, coef0 1


def _shuffled_batch(device: torch.device) -> Callable[[], object]:
    """On the CPU whatever `device`: the data path is CPU code."""
    images = torch.full((_MNIST_TRAIN, 1, 28, 28), 0.5)  # (N, 1, H, W); filled, so no page is first touched in a timing

    def batch() -> torch.Tensor:
        order = torch.randperm(_MNIST_TRAIN, generator=torch.Generator().manual_seed(0))
        return images[order[:128]]  # (128, 1, 28, 28)
    return batch


KERNELS: dict[str, Kernel] = {k.name: k for k in (
    Kernel(MATMUL, "peak fp32 FLOP/s (what none of the suite's small workloads reaches)", _matmul, 30),
    Kernel("network_step", "a training step: convolutions, GroupNorm and SiLU forward and backward", _network_step, 10),
    Kernel("network_forward", "network evaluations: the same layers forward, under inference_mode", _network_forward, 20),
    Kernel("poly_kernel", "KID: numpy's float64 cubic polynomial kernel of 500 x 64 features", _poly_kernel, 10),
    Kernel("shuffled_batch", "the data path: a shuffle of MNIST's 60,000 training images and a batch of 128",
           _shuffled_batch, 100),
)}


class Calibration:
    """The kernels on one device, each prepared on first use, then timed a call at a time."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self._calls: dict[str, Callable[[], object]] = {}

    def call_seconds(self, name: str) -> float:
        """Seconds of one call of kernel `name`. The first call after preparing it is cold (allocation, BLAS
        warm-up): the benchmarks' `measured` fixture leaves out the readings of a benchmark's warm-up round."""
        if name not in KERNELS:
            raise ValueError(f"no calibration kernel {name!r}; the kernels: {', '.join(KERNELS)}")
        if name not in self._calls:
            self._calls[name] = KERNELS[name].prepare(self.device)
        return timed(self.device, self._calls[name])[1]
