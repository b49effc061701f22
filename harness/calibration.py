"""The benchmarks' calibration kernel: a fixed fp32 matmul on the device the suite runs on, timed around each
benchmark (harness.bench divides every figure by it, so that a comparison holds on a slower or busier machine)."""

from __future__ import annotations

import statistics

import torch

from .metrics.speed import timed

CALIBRATION_N = 512  # side of the calibration matmul (0.27 GFLOP)


def calibration_operands(device: torch.device = torch.device("cpu")) -> tuple[torch.Tensor, torch.Tensor]:
    """The calibration matmul's two fixed (512, 512) fp32 operands, drawn on the CPU (the same values everywhere)."""
    return tuple(torch.randn(CALIBRATION_N, CALIBRATION_N, generator=torch.Generator().manual_seed(k)).to(device)
                 for k in (0, 1))


def calibration_seconds(device: torch.device = torch.device("cpu"), reps: int = 30) -> float:
    """Median seconds of the calibration matmul on `device` over `reps` runs (about 0.1 s on 2 cores)."""
    a, b = calibration_operands(device)
    timed(device, lambda: torch.mm(a, b))  # first call: allocation and BLAS (or cuBLAS) warm-up
    return statistics.median(timed(device, lambda: torch.mm(a, b))[1] for _ in range(reps))
