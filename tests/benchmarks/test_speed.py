"""The pytest-benchmark suite (`make bench`): each figure is also read relative to the calibration kernel that
shares its bottleneck, named by its `calibrate` mark and timed between its rounds (`measured`;
harness.perf's bench normalises by it); the 512 x 512 fp32 matmul is timed between the rounds of each too, and as a
benchmark of its own. Under `make test` every benchmark runs once, as a plain test of the code path it times.

`--bench-device cuda` (make bench BENCH_DEVICE=cuda) runs the network's benchmarks and the calibration on the GPU,
each call finished by a synchronize so that the clock covers its queued work; FID/KID and data loading are CPU
code in the product and stay there."""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Callable
from typing import TypeVar

import pytest
import torch
from pytest_benchmark.fixture import BenchmarkFixture

from harness.config import DataConfig, RunConfig, resolve_config
from harness.core import Diffusion
from harness.data import load_mnist
from harness.metrics import fidelity, finished, train_step
from harness.perf import (
    CALIBRATION_KEY,
    CALIBRATION_N,
    KERNEL_KEY,
    KERNELS,
    MATMUL,
    MATMUL_KEY,
    Calibration,
    calibration_operands,
)
from harness.runs import Batches, build_model, generate, grid_labels

T = TypeVar("T")
Measured = Callable[[Callable[[], T], int], T]  # the `measured` fixture: (work, rounds) -> work's result
CFG = resolve_config("baseline", "smoke")  # the smoke network (width x 0.25) at batch 32: seconds, not minutes


@pytest.fixture(scope="session")
def device(request: pytest.FixtureRequest) -> torch.device:
    return torch.device(request.config.getoption("--bench-device"))


@pytest.fixture(scope="session")
def calibration(device: torch.device) -> Calibration:
    return Calibration(device)


@pytest.fixture
def measured(request: pytest.FixtureRequest, benchmark: BenchmarkFixture,
             calibration: Calibration) -> Measured:
    """`measured(work, rounds)`: the benchmark of `work` over `rounds` rounds (after one warm-up), its calibration
    kernel and the matmul timed between the rounds, in pytest-benchmark's untimed setup, their medians kept in
    extra_info. A shared VM's speed drifts from one second to the next (a shuffle here: 0.54-1.40 ms within one
    process); timed between the rounds the kernel sees the same moments, where timed before and after the
    benchmark it read the data path's figure at 0.64-1.14 of its median, interleaved at 0.84-0.97."""
    mark = request.node.get_closest_marker("calibrate")
    kernel = mark.args[0] if mark else None
    if kernel not in KERNELS:  # checked under `make test` too
        pytest.fail(f"{request.node.name} needs @pytest.mark.calibrate(KERNEL) with KERNEL one of {sorted(KERNELS)}, "
                    f"the calibration kernel sharing its bottleneck; got {kernel!r}")

    def run(work: Callable[[], T], rounds: int) -> T:
        if benchmark.disabled:  # under `make test` the suite runs once, as plain tests
            return benchmark(work)
        calls = -(-KERNELS[kernel].reps // rounds)  # kernel calls per round: at least `reps` in all
        own: list[float] = []
        matmul: list[float] = []

        def between_rounds() -> None:
            own.extend(calibration.call_seconds(kernel) for _ in range(calls))
            matmul.append(calibration.call_seconds(MATMUL))

        out = benchmark.pedantic(work, setup=between_rounds, rounds=rounds, warmup_rounds=1)
        benchmark.extra_info.update({KERNEL_KEY: kernel, CALIBRATION_KEY: statistics.median(own[calls:]),
                                     MATMUL_KEY: statistics.median(matmul[1:])})  # the warm-up round's readings left out
        return out
    return run


@pytest.fixture(scope="module")
def model(device: torch.device) -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model(CFG).to(device).eval()


@pytest.mark.calibrate(MATMUL)
def test_calibration_matmul(measured: Measured, device: torch.device) -> None:
    a, b = calibration_operands(device)
    out = measured(finished(lambda: torch.mm(a, b), device), 200)
    assert out.shape == (CALIBRATION_N, CALIBRATION_N) and out.device.type == device.type


@pytest.mark.calibrate("network_step")
def test_train_step(measured: Measured, device: torch.device) -> None:
    steps_of(measured, CFG, device)


@pytest.mark.calibrate("network_step")
def test_train_step_of_the_baseline_recipe(measured: Measured, device: torch.device) -> None:
    """The step the baseline recipe repeats through its training: the full network at the `quick` budget's batch, the
    figure behind the recipe's training seconds (test_train_step's smoke network is a quarter as wide)."""
    steps_of(measured, resolve_config("baseline", "quick"), device)


def steps_of(measured: Measured, cfg: RunConfig, device: torch.device) -> None:
    """20 rounds of one training step of the config's network; the step must move it."""
    step, model = train_step(cfg, device)
    before = [p.detach().clone() for p in model.parameters()]
    measured(finished(step, device), 20)
    # the zero-initialised output layer is what the first step can move (no gradient reaches earlier layers yet)
    assert any(not torch.equal(b, p) for b, p in zip(before, model.parameters()))


@pytest.mark.calibrate("network_step")
@pytest.mark.parametrize("preset", ["edm", "flow"])
def test_train_step_of_formulation(measured: Measured, device: torch.device, preset: str) -> None:
    """The step of test_train_step under another formulation, its paper's weighting and noise sampling: the
    preconditioning and the weights are a few elementwise operations beside the network (gated like the others)."""
    steps_of(measured, resolve_config(preset, "smoke"), device)


@pytest.mark.calibrate(MATMUL)
def test_train_step_of_dit(measured: Measured, device: torch.device) -> None:
    """The step of test_train_step with dit_small's transformer (Peebles & Xie 2023) at the same smoke scaling: linear
    layers and attention, so the matmul is its calibration kernel."""
    steps_of(measured, resolve_config("dit_small", "smoke"), device)


@pytest.mark.calibrate(MATMUL)
def test_network_evaluation_of_dit(measured: Measured, device: torch.device) -> None:
    torch.manual_seed(0)
    evaluations_of_a_batch(measured, build_model(resolve_config("dit_small", "smoke")).to(device).eval(), device)


@pytest.mark.calibrate("network_forward")
def test_network_evaluation(measured: Measured, model: torch.nn.Module, device: torch.device) -> None:
    evaluations_of_a_batch(measured, model, device)


def evaluations_of_a_batch(measured: Measured, net: torch.nn.Module, device: torch.device) -> None:
    """30 rounds of one network evaluation of 64 noisy digits."""
    x = torch.randn(64, 1, 28, 28, device=device)  # (B, C, H, W)
    t, y = torch.randint(0, 1000, (64,), device=device), torch.randint(0, 10, (64,), device=device)

    @torch.inference_mode()
    def forward() -> torch.Tensor:
        return net(x, t, y)

    assert measured(finished(forward, device), 30).shape == x.shape


@pytest.mark.calibrate("network_forward")
@pytest.mark.parametrize("guidance", [1.0, 3.0], ids=["ddim", "cfg"])
def test_ddim_sample_of_a_batch(measured: Measured, model: torch.nn.Module, device: torch.device,
                                guidance: float) -> None:
    """20 digits, 10 DDIM steps; w=3 batches the conditional and unconditional passes into one call."""
    cfg = resolve_config("baseline", "smoke", ["sample.steps=10", f"sample.guidance={guidance}"]).sample
    labels = grid_labels(2)

    def sample() -> torch.Tensor:
        generator = torch.Generator(device=device).manual_seed(0)
        return generate(model, Diffusion(CFG.diffusion), cfg, labels, 28, generator)

    images = measured(finished(sample, device), 8)
    assert images.shape == (20, 1, 28, 28) and bool(torch.isfinite(images).all())


@pytest.mark.calibrate("poly_kernel")
def test_fid_kid_on_a_fixed_feature_set(measured: Measured) -> None:
    g = torch.Generator().manual_seed(0)
    generated = torch.randn(500, 64, generator=g, dtype=torch.float64)  # (N, D) features
    reference = torch.randn(500, 64, generator=g, dtype=torch.float64) + 0.1
    out = measured(lambda: fidelity(generated, reference, {"fid", "kid"}), 5)
    assert out["fid"] > 0 and out["kid"] > 0


@pytest.mark.calibrate("shuffled_batch")
def test_data_loading_one_epoch_of_batches(measured: Measured) -> None:
    batches = Batches(load_mnist(DataConfig()).train, 128, seed=0, pad_to_32=False)
    epochs = itertools.count()

    def epoch_start() -> tuple[torch.Tensor, torch.Tensor]:
        return batches(next(epochs) * batches.per_epoch)  # the first batch of an epoch pays for its shuffle

    x, y = measured(epoch_start, 300)
    assert x.shape == (128, 1, 28, 28) and y.shape == (128,)
