"""The benchmarks' calibration kernel: a fixed fp32 matmul, timed around each benchmark (harness.bench divides
every figure by it, so that a comparison holds on a slower or busier machine)."""

from __future__ import annotations

import statistics
import time

import torch

CALIBRATION_N = 512  # side of the calibration matmul (0.27 GFLOP)


def calibration_operands() -> tuple[torch.Tensor, torch.Tensor]:
    """The calibration matmul's two fixed (512, 512) fp32 operands."""
    return tuple(torch.randn(CALIBRATION_N, CALIBRATION_N, generator=torch.Generator().manual_seed(k)) for k in (0, 1))


def calibration_seconds(reps: int = 30) -> float:
    """Median seconds of the calibration matmul over `reps` runs (about 0.1 s on 2 cores)."""
    a, b = calibration_operands()
    torch.mm(a, b)  # first call: allocation and BLAS warm-up
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        torch.mm(a, b)
        times.append(time.perf_counter() - start)
    return statistics.median(times)
