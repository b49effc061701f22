"""data.dataset: Fashion-MNIST and KMNIST from a folder in torchvision's layout, written here as real IDX files; a
run trains and is evaluated on one with its own reference classifier and its class names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from idxfiles import write_idx
from studyspecs import write_spec

from harness._util import ConfigError, DataError
from harness.analyses.difficulty import DifficultyConfig, run_difficulty, write_difficulty
from harness.cli import main
from harness.config import DATASETS, DataConfig, config_hash, resolve_config
from harness.data import Mnist, load_mnist
from harness.studies import load_spec, run_study, write_report

TRAIN, TEST = 1200, 300  # images written per split: the format and the plumbing are under test, not the clothes


def write_folder(root: Path, dataset: str, mnist: Mnist, labels_shift: int = 0) -> Path:
    """root/<Name>/raw/ with the four IDX files (two gzip'd, as downloads are, two not): MNIST digits under the
    data set's labels (`labels_shift` adds to them, to write a broken file)."""
    raw = root / DATASETS.get(dataset).folder / "raw"
    raw.mkdir(parents=True)
    write_idx(raw, "train-images-idx3-ubyte", mnist.train.images[:TRAIN].numpy(), compress=True)
    write_idx(raw, "train-labels-idx1-ubyte", mnist.train.labels[:TRAIN].numpy() + labels_shift, compress=False)
    write_idx(raw, "t10k-images-idx3-ubyte", mnist.test.images[:TEST].numpy(), compress=False)
    write_idx(raw, "t10k-labels-idx1-ubyte", mnist.test.labels[:TEST].numpy(), compress=True)
    return root


@pytest.fixture(scope="module")
def fashion(mnist: Mnist, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_folder(tmp_path_factory.mktemp("fashion"), "fashion_mnist", mnist)


@pytest.mark.parametrize("dataset", ["fashion_mnist", "kmnist"])
def test_a_folder_in_torchvisions_layout_loads_with_its_class_names(dataset: str, mnist: Mnist, tmp_path: Path) -> None:
    root = write_folder(tmp_path, dataset, mnist)
    data = load_mnist(DataConfig(dataset=dataset, path=str(root)))
    assert [len(data.train), len(data.val), len(data.test)] == [TRAIN - TRAIN // 6, TRAIN // 6, TEST]  # last sixth: val
    assert torch.equal(data.val.images, mnist.train.images[TRAIN - TRAIN // 6:TRAIN])
    assert data.classes == DATASETS.get(dataset).classes and len(data.classes) == 10
    assert data.digest != mnist.digest  # its own reference classifier and test features
    raw = load_mnist(DataConfig(dataset=dataset, path=str(root / DATASETS.get(dataset).folder / "raw")))
    assert raw.digest == data.digest  # the raw folder itself works as well as its root
    assert DATASETS.get("fashion_mnist").classes[9] == "Ankle boot" and DATASETS.get("kmnist").classes[0] == "o"


def test_bad_folders_and_configs_say_what_is_wrong(mnist: Mnist, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="data.path must name the folder of Fashion-MNIST's IDX files"):
        DataConfig(dataset="fashion_mnist")
    with pytest.raises(ConfigError, match="did you mean 'kmnist'"):
        DataConfig(dataset="kmnsit")
    with pytest.raises(DataError, match="does not exist; put train-images-idx3-ubyte.gz .*zalandoresearch"):
        load_mnist(DataConfig(dataset="fashion_mnist", path=str(tmp_path / "nothere")))
    bad = write_folder(tmp_path / "bad", "kmnist", mnist, labels_shift=1)  # a 9 becomes a 10
    with pytest.raises(DataError, match="train labels reach 10; expected 0-9"):
        load_mnist(DataConfig(dataset="kmnist", path=str(bad)))


def test_mnist_runs_keep_their_config_hash() -> None:
    """data.dataset is hashed only when set: every MNIST run cached before it keeps its folder."""
    cfg = resolve_config()
    assert config_hash(cfg) == config_hash(resolve_config(overrides=["data.dataset=mnist"]))
    assert config_hash(cfg) != config_hash(resolve_config(overrides=["data.dataset=kmnist", "data.path=/x"]))


def test_a_run_trains_and_evaluates_on_fashion_mnist_with_its_own_classifier_and_class_names(
        fashion: Path, tmp_path: Path, tiny_clip_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "run"
    data = ["--set", "data.dataset=fashion_mnist", "--set", f"data.path={fashion}"]
    assert main(["train", "--budget", "smoke", "--out", str(run), "--quiet", *data,
                 "--set", "train.val_images=32", "--set", "sample.grid_per_class=1"]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(run), "--metrics", "class_acc,fid", "--per-class", "3"]) == 0
    out = capsys.readouterr().out
    assert "reference classifier: " in out and f"on the {TEST} test images" in out  # trained on first use, said
    assert "class " in out and "0 T-shirt/top" in out and "9 Ankle boot" in out
    result = json.loads((run / "metrics.json").read_text())
    assert result["dataset"] == "fashion_mnist" and result["classes"][3] == "Dress"
    assert 0 < result["classifier_test_accuracy"] <= 1 and result["fid"] > 0
    assert main(["classifier", *data]) == 0  # the same classifier, now from the cache
    assert f"(from the cache): {100 * result['classifier_test_accuracy']:.2f}% on the {TEST} Fashion-MNIST test images" \
        in capsys.readouterr().out

    # CLIP's prompts name the data set's classes (open_clip's real code on a tiny random model)
    assert main(["evaluate", str(run), "--metrics", "clip", "--set", f"eval.clip_model=local-dir:{tiny_clip_dir}"]) == 0
    clip = json.loads((run / "metrics.json").read_text())["clip"]
    assert clip["available"] and clip["templates"][0] == "a photo of a {d}"
    assert "9 Ankle boot" in capsys.readouterr().out


def test_a_study_and_the_difficulty_analysis_run_on_fashion_mnist_and_name_its_classes(
        fashion: Path, tmp_path: Path) -> None:
    """Every table and plot of a study and of the per-class analysis uses the data set's class names."""
    data = ["data.dataset=fashion_mnist", f"data.path={fashion}"]
    tiny = ["train.steps=6", "train.val_every=3", "train.checkpoint_every=3", "train.val_images=32",
            "sample.grid_per_class=1", "eval.samples_per_class=4"]
    spec = load_spec(write_spec(tmp_path, f"""
name: fashiontest
description: Guidance on clothes
base: {{preset: baseline, set: [{', '.join(data + tiny)}]}}
vary:
  sample.guidance: [1.0, 3.0]
seeds: [0]
budget: smoke
metrics: [class_acc]
"""))
    folder = tmp_path / "results" / "fashiontest"
    write_report(run_study(spec, tmp_path / "results", progress=False), spec, folder)
    report = (folder / "report.md").read_text()
    assert "Per-class class_acc" in report and "row k is class k" in report
    assert (folder / "plots" / "per_digit.png").stat().st_size > 1000

    cfg = DifficultyConfig(budget="smoke", overrides=tuple(data + tiny), seeds=(0,), guidance=(3.0,), replicates=100,
                           samples_per_class=5, frontier_per_class=5, forward_points=3, forward_per_class=5, results=tmp_path / "results")
    path = write_difficulty(run_difficulty(cfg, progress=False))
    assert path.parent.name == "difficulty-baseline-smoke-fashion_mnist"  # never MNIST's folder
    text = path.read_text()
    assert "# Per-class difficulty: baseline at the smoke budget on Fashion-MNIST" in text
    assert "## Classes, easiest first" in text and "| 9 Ankle boot |" in text and "0 T-shirt/top: " in text
