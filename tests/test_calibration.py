"""The calibration kernels: every one runs on fixed operands (golden values: a baseline and a run of the suite
compare only while they time the same work), is timed in seconds, and a name that is not a kernel is refused."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from harness.perf import KERNELS, MATMUL, Calibration

# (kernel, shape of its output, sum of its output) on the CPU; float sums to 1e-4
GOLDEN = {
    MATMUL: ((512, 512), 16771.19481),
    "network_step": ((), -13223.31543),
    "network_forward": ((), -25393.89648),
    "poly_kernel": ((500, 500), 261505.99608),
    "shuffled_batch": ((128, 1, 28, 28), 50176.0),
}


def test_every_kernel_has_golden_values() -> None:
    assert set(GOLDEN) == set(KERNELS)


@pytest.mark.parametrize("name", sorted(KERNELS))
def test_each_kernel_computes_the_same_fixed_work_every_call(name: str) -> None:
    call = KERNELS[name].prepare(torch.device("cpu"))
    shape, total = GOLDEN[name]
    first = torch.as_tensor(np.asarray(call()))
    assert tuple(first.shape) == shape
    assert float(first.double().sum()) == pytest.approx(total, rel=1e-4)
    assert torch.equal(torch.as_tensor(np.asarray(call())), first)  # no state carried from one call to the next


@pytest.mark.parametrize("name", sorted(KERNELS))
def test_a_calibration_reads_each_kernel_in_seconds(name: str) -> None:
    calibration = Calibration(torch.device("cpu"))
    first, second = calibration.call_seconds(name), calibration.call_seconds(name)  # the first is cold
    assert 1e-6 < first < 1.0 and 1e-6 < second < 1.0  # each call is milliseconds on 2 cores


def test_each_kernel_says_what_it_stands_for() -> None:
    for kernel in KERNELS.values():
        assert kernel.stands_for and kernel.reps >= 10


def test_an_unknown_kernel_is_refused_with_the_kernels_named() -> None:
    with pytest.raises(ValueError, match="no calibration kernel 'conv'; the kernels: matmul, network_step"):
        Calibration(torch.device("cpu")).call_seconds("conv")
