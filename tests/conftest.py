"""Shared fixtures: the real bundled MNIST (loaded once) and an isolated cache folder."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch

from harness._util import keep_freed_memory
from harness.config import DataConfig
from harness.data import Mnist, load_mnist

XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER")  # gw0, gw1, ... under pytest -n; None otherwise
if XDIST_WORKER:
    # the `harness` processes a test starts (drills, workers, the command line) take one thread too, as the worker
    # does: two OpenMP threads each beside the other worker's oversubscribe the cores, and OpenMP's waiting threads
    # spin, so the processes on the machine slow down more than sharing the cores alone would explain
    os.environ.setdefault("OMP_NUM_THREADS", "1")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--bench-device", default="cpu", choices=("cpu", "cuda"),
                     help="where tests/benchmarks runs its network work (make bench BENCH_DEVICE=cuda); default cpu")
    parser.addoption("--bench-threads", type=int, default=None,
                     help="torch threads for the whole session, as on a machine with that many cores; default 2, "
                          "1 per xdist worker")


def pytest_configure(config: pytest.Config) -> None:
    keep_freed_memory()  # as `harness` does: the suite and its benchmarks run the product's allocation path
    threads = config.getoption("--bench-threads")
    if threads is not None and threads < 1:
        raise pytest.UsageError(f"--bench-threads must be >= 1 (torch threads), got {threads}")
    if config.getoption("--bench-device") == "cuda" and not torch.cuda.is_available():
        raise pytest.UsageError("--bench-device cuda: torch sees no CUDA device here (torch.cuda.is_available() is "
                                "False); run the suite on this machine's CPU with --bench-device cpu (make bench)")


@pytest.hookimpl(optionalhook=True)  # a pytest-benchmark hook: it records the GPU its CUDA figures came from
def pytest_benchmark_update_machine_info(config: pytest.Config, machine_info: dict) -> None:
    if config.getoption("--bench-device") == "cuda":
        machine_info["cuda_device"] = torch.cuda.get_device_name(0)


@pytest.fixture(scope="session")
def mnist() -> Mnist:
    return load_mnist(DataConfig())


@pytest.fixture(scope="session")
def classifier(mnist: Mnist, tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    """The real reference classifier, as every command loads it: the weights shipped in harness/metrics/weights."""
    from harness.metrics import load_or_train

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HARNESS_CACHE", str(session_cache(tmp_path_factory)))
        return load_or_train(mnist, progress=False)


@pytest.fixture(scope="session")
def analysed(tmp_path_factory: pytest.TempPathFactory, classifier):  # noqa: ANN001, ANN201
    """One smoke difficulty analysis (2 tiny trained networks, w in {1, 3}, few replicates): (result, report path)."""
    from harness.analyses.difficulty import DifficultyConfig, run_difficulty, write_difficulty

    results = tmp_path_factory.mktemp("difficulty")
    cfg = DifficultyConfig(budget="smoke", seeds=(0, 1), guidance=(1.0, 3.0), replicates=200, forward_points=6,
                           forward_per_class=20, results=results)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HARNESS_CACHE", str(session_cache(tmp_path_factory)))
        result = run_difficulty(cfg, progress=False)
        return result, write_difficulty(result)


def session_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's private cache folder, shared by its xdist workers (the cache's files are written atomically, so
    each worker need not decode MNIST and featurise the test digits again), never the user's ~/.cache/harness."""
    base = tmp_path_factory.getbasetemp()
    return (base.parent if XDIST_WORKER else base) / "cache"


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test gets the session's private cache folder, never the user's ~/.cache/harness."""
    monkeypatch.setenv("HARNESS_CACHE", str(session_cache(tmp_path_factory)))


@pytest.fixture(autouse=True)
def _few_threads(request: pytest.FixtureRequest) -> None:
    threads = request.config.getoption("--bench-threads")
    torch.set_num_threads(threads or (1 if XDIST_WORKER else 2))  # `make test` runs one xdist worker per core


def smoke_overrides(**extra: object) -> list[str]:
    """Overrides that make a smoke run even smaller, for tests that train several times."""
    pairs = {"train.val_images": 64, "sample.grid_per_class": 1, **extra}
    return [f"{k}={v}" for k, v in pairs.items()]


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    return tmp_path / "run"


TINY_CLIP = {"model_cfg": {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 64, "head_width": 32, "patch_size": 8},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}}


@pytest.fixture(scope="session")
def tiny_clip_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A local-dir open_clip model: config plus weights written from a seeded random initialisation."""
    import open_clip

    folder = tmp_path_factory.mktemp("tiny-clip")
    (folder / "open_clip_config.json").write_text(json.dumps(TINY_CLIP))
    torch.manual_seed(0)
    model = open_clip.create_model(f"local-dir:{folder}")
    torch.save(model.state_dict(), folder / "open_clip_pytorch_model.bin")
    return folder
