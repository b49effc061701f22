"""Shared fixtures: the real bundled MNIST (loaded once) and an isolated cache folder."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
import torch

from harness.allocator import keep_freed_memory
from harness.config import DataConfig
from harness.data import Mnist, load_mnist

XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER")  # gw0, gw1, ... under pytest -n; None otherwise


def pytest_configure(config: pytest.Config) -> None:
    """The suite's reference classifier trains 1 epoch (98.9%, about 1.5 CPU minutes) instead of 3 (99.4%,
    4.5 minutes): the same code path at a smaller budget. Worker subprocesses inherit it."""
    os.environ.setdefault("HARNESS_CLASSIFIER_EPOCHS", "1")
    keep_freed_memory()  # as `harness` does: the suite and its benchmarks run the product's allocation path


@pytest.hookimpl(tryfirst=True)  # before xdist's own, which starts the workers
def pytest_sessionstart(session: pytest.Session) -> None:
    """Under `pytest -n N` (`make test`) the controller trains the reference classifier once, on every core, into
    a cache its workers share, before they start: trained inside a worker it ran on that worker's one thread
    while the other waited for it (249 s of a 14.7-minute run on a slow 2-core host)."""
    config = session.config
    if not config.pluginmanager.hasplugin("dsession"):
        return
    if "HARNESS_TEST_CACHE" not in os.environ:
        cache = tempfile.mkdtemp(prefix="harness-test-cache-")
        config.add_cleanup(lambda: shutil.rmtree(cache, ignore_errors=True))
        os.environ["HARNESS_TEST_CACHE"] = cache  # the workers inherit it
    config.pluginmanager.get_plugin("terminalreporter").write_line(
        f"reference classifier for the workers: {os.environ['HARNESS_TEST_CACHE']} (trained there once)")
    reference_classifier(load_mnist(DataConfig()), Path(os.environ["HARNESS_TEST_CACHE"]))


def reference_classifier(mnist: Mnist, cache: Path):  # noqa: ANN201
    """The real reference classifier from the cache folder `cache`, trained there (a few CPU minutes) if missing."""
    from harness.data import bundled_mnist_path
    from harness.metrics.classifier import load_or_train

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HARNESS_CACHE", str(cache))
        return load_or_train(mnist, bundled_mnist_path(), progress=False)


@pytest.fixture(scope="session")
def mnist() -> Mnist:
    return load_mnist(DataConfig())


@pytest.fixture(scope="session")
def classifier(mnist: Mnist, tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    """The real reference classifier, trained once per test session (a few CPU minutes) into its private cache."""
    return reference_classifier(mnist, session_cache(tmp_path_factory))


@pytest.fixture(scope="session")
def analysed(tmp_path_factory: pytest.TempPathFactory, classifier):  # noqa: ANN001, ANN201
    """One smoke difficulty analysis (2 tiny trained networks, w in {1, 3}, few replicates): (result, report path)."""
    from harness.difficulty import DifficultyConfig, run_difficulty, write_difficulty

    results = tmp_path_factory.mktemp("difficulty")
    cfg = DifficultyConfig(budget="smoke", seeds=(0, 1), guidance=(1.0, 3.0), replicates=200, forward_points=6,
                           forward_per_class=20, results=results)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HARNESS_CACHE", str(session_cache(tmp_path_factory)))
        result = run_difficulty(cfg, progress=False)
        return result, write_difficulty(result)


def session_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """$HARNESS_TEST_CACHE when set (keeps the trained classifier between local runs; under xdist the
    controller sets it for its workers), else a fresh folder."""
    kept = os.environ.get("HARNESS_TEST_CACHE")
    return Path(kept) if kept else tmp_path_factory.getbasetemp() / "cache"


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test gets the session's private cache folder, never the user's ~/.cache/harness."""
    monkeypatch.setenv("HARNESS_CACHE", str(session_cache(tmp_path_factory)))


@pytest.fixture(autouse=True)
def _few_threads() -> None:
    torch.set_num_threads(1 if XDIST_WORKER else 2)  # `make test` runs one xdist worker per core


def smoke_overrides(**extra: object) -> list[str]:
    """Overrides that make a smoke run even smaller, for tests that train several times."""
    pairs = {"train.val_images": 64, "sample.grid_per_class": 1, **extra}
    return [f"{k}={v}" for k, v in pairs.items()]


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    return tmp_path / "run"
