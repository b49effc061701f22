"""`harness score` and `harness.score`: any generator's digits measured as a run of the harness is."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import harness
from harness import ConfigError
from harness._util import DataError
from harness.cli import main
from harness.config import resolve_config
from harness.data import Mnist
from harness.metrics import INTERVAL_KEYS
from harness.perf.peers import peer_schedulers, peer_unet, sample_peer
from harness.runs import load_samples

JUDGED = {"fid", "class_acc", "prc"}


@pytest.fixture(scope="module")
def held_out(mnist: Mnist) -> tuple[torch.Tensor, torch.Tensor]:
    """200 validation digits, 20 of each class: real digits no generator drew."""
    picks = torch.cat([torch.nonzero(mnist.val.labels == d)[:20, 0] for d in range(10)])
    return mnist.val.images[picks], mnist.val.labels[picks]


def noised(images: torch.Tensor, sigma: float) -> torch.Tensor:
    """Digits in [0, 1] with Gaussian noise of std `sigma`, clipped back into [0, 1]."""
    g = torch.Generator().manual_seed(0)
    return (images.float() / 255 + sigma * torch.randn(images.shape, generator=g)).clamp(0, 1)


def test_held_out_digits_score_near_perfect_with_intervals_around_each_estimate(
        held_out: tuple[torch.Tensor, torch.Tensor], classifier) -> None:  # noqa: ANN001
    images, labels = held_out
    result = harness.score(images, labels, bootstrap=20)
    assert result["class_acc"] > 0.97 and result["confidence"] > 0.95 and result["precision"] > 0.7
    assert result["samples"] == {"count": 200, "per_digit": {str(d): 20 for d in range(10)}}
    assert set(result["per_digit"]) == {str(d) for d in range(10)} and "kid" in result
    for key in INTERVAL_KEYS:
        low, high = result["intervals"][key]
        assert low <= result[key] <= high and low < high, key


def test_noisier_digits_score_monotonically_worse(held_out: tuple[torch.Tensor, torch.Tensor],
                                                  classifier) -> None:  # noqa: ANN001
    images, labels = held_out
    scores = [harness.score(noised(images, s), labels, {"fid", "class_acc"}, value_range=(0.0, 1.0))
              for s in (0.0, 0.15, 0.4)]
    fid, acc = [s["fid"] for s in scores], [s["class_acc"] for s in scores]
    assert fid[0] < fid[1] < fid[2] and acc[0] > acc[1] > acc[2], (fid, acc)


def test_float_images_in_either_range_score_as_their_uint8_digits(held_out: tuple[torch.Tensor, torch.Tensor],
                                                                  classifier) -> None:  # noqa: ANN001
    images, labels = held_out
    as_u8 = harness.score(images, labels, JUDGED)
    unit = images.float() / 255
    assert harness.score(unit.numpy(), labels.numpy(), JUDGED, value_range=(0.0, 1.0)) == as_u8
    assert harness.score((unit * 2 - 1)[:, None], labels, JUDGED, value_range=(-1.0, 1.0)) == as_u8  # (N, 1, 28, 28)


def test_the_diffusers_peers_samples_are_scored_from_its_own_output(classifier) -> None:  # noqa: ANN001
    cfg = resolve_config("baseline_v2", "smoke", ["sample.steps=3"])
    torch.manual_seed(0)
    unet = peer_unet(cfg)
    _, ddim = peer_schedulers(cfg)
    labels = torch.arange(10).repeat_interleave(5)
    drawn = sample_peer(unet, ddim, cfg.sample, labels, 28, torch.Generator().manual_seed(1))  # (N, 1, 28, 28)
    result = harness.score(drawn, labels, {"fid", "class_acc"}, value_range=(-1.0, 1.0))
    assert result["samples"]["count"] == 50 and result["fid"] > 100  # an untrained network draws no digits


def write_png_folder(root: Path, images: torch.Tensor, labels: torch.Tensor, by_class_folder: bool) -> Path:
    for i, (image, label) in enumerate(zip(images, labels)):
        path = root / str(int(label)) / f"{i:04d}.png" if by_class_folder else root / f"{int(label)}_{i:04d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image.numpy()).save(path)
    return root


@pytest.mark.parametrize("by_class_folder", [True, False], ids=["sorted into class folders", "named by class"])
def test_a_png_folder_reads_back_its_digits_exactly(held_out: tuple[torch.Tensor, torch.Tensor], tmp_path: Path,
                                                    by_class_folder: bool) -> None:
    images, labels = held_out
    folder = write_png_folder(tmp_path / "pngs", images, labels, by_class_folder)
    read, read_labels = load_samples(folder)
    order = torch.argsort(labels, stable=True)  # files are read class by class
    assert torch.equal(read, images[order]) and torch.equal(read_labels, labels[order])


def test_a_pt_file_holds_a_dict_or_a_pair(held_out: tuple[torch.Tensor, torch.Tensor], tmp_path: Path) -> None:
    images, labels = held_out
    torch.save({"images": images, "labels": labels}, tmp_path / "a.pt")
    torch.save((images.float() / 127.5 - 1, labels), tmp_path / "b.pt")
    a, b = load_samples(tmp_path / "a.pt"), load_samples(tmp_path / "b.pt", (-1.0, 1.0))
    assert torch.equal(a[0], images) and torch.equal(b[0], images) and torch.equal(b[1], labels)


def test_the_command_puts_several_files_side_by_side_and_writes_json(
        held_out: tuple[torch.Tensor, torch.Tensor], tmp_path: Path, classifier,  # noqa: ANN001
        capsys: pytest.CaptureFixture[str]) -> None:
    images, labels = held_out
    np.savez(tmp_path / "real.npz", images=images.numpy(), labels=labels.numpy())
    np.savez(tmp_path / "noisy.npz", images=noised(images, 0.4).numpy(), labels=labels.numpy())
    folder = write_png_folder(tmp_path / "pngs", images, labels, by_class_folder=True)
    argv = ["score", str(tmp_path / "real.npz"), str(folder), "--metrics", "fid,class_acc", "--bootstrap", "5",
            "--json", str(tmp_path / "scores.json")]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert f"| {tmp_path / 'real.npz'} | 200 |" in out and f"| {folder} | 200 |" in out
    assert "class_acc per digit" in out and "percentile for class_acc" in out
    files = json.loads((tmp_path / "scores.json").read_text())["files"]
    real, pngs = files[str(tmp_path / "real.npz")], files[str(folder)]
    assert real["fid"] == pngs["fid"] and real["per_digit"] == pngs["per_digit"]  # the same digits, read two ways
    assert main(["score", str(tmp_path / "noisy.npz"), "--metrics", "class_acc", "--bootstrap", "0"]) == 2
    assert "state their range: --range=0,1 or --range=-1,1" in capsys.readouterr().err


@pytest.mark.parametrize("make, argv_tail, message", [
    (lambda p: np.savez(p / "s.npz", images=np.full((4, 28, 28), 1.5, np.float32), labels=np.arange(4)),
     ["{p}/s.npz", "--range", "0,1"], "values from 1.5 to 1.5, outside the stated range [0, 1]"),
    (lambda p: np.savez(p / "s.npz", images=np.zeros((4, 28, 28), np.uint8), labels=np.arange(4)),
     ["{p}/s.npz", "--range", "0,255"], "--range '0,255' is not a range"),
    (lambda p: np.savez(p / "s.npz", images=np.zeros((4, 32, 32), np.uint8), labels=np.arange(4)),
     ["{p}/s.npz"], "images must be (N, 28, 28) or (N, 1, 28, 28)"),
    (lambda p: np.savez(p / "s.npz", images=np.zeros((4, 28, 28), np.uint8), labels=np.arange(4)),
     ["{p}/s.npz", "--metrics", "mse"], "mse needs a trained network"),
    (lambda p: np.savez(p / "s.npz", images=np.zeros((1, 28, 28), np.uint8), labels=np.arange(1)),
     ["{p}/s.npz"], "holds 1 digit(s)"),
    (lambda p: (p / "pngs").mkdir() or Image.new("L", (28, 28)).save(p / "pngs" / "digit.png"),
     ["{p}/pngs"], "is not named by its class"),
    (lambda p: (p / "pngs" / "3").mkdir(parents=True) or Image.new("L", (32, 32)).save(p / "pngs" / "3" / "a.png"),
     ["{p}/pngs"], "is 32x32 pixels; digits must be 28x28"),
    (lambda p: torch.save(torch.zeros(4, 28, 28), p / "s.pt"), ["{p}/s.pt"], "it holds a Tensor"),
    (lambda p: None, ["{p}/absent.npz"], "does not exist"),
    (lambda p: np.savez(p / "s.npz", images=np.zeros((4, 28, 28), np.uint8), labels=np.arange(4)),
     ["{p}/s.npz", "--bootstrap", "-1"], "--bootstrap must be 0"),
])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(make, argv_tail: list[str], message: str,  # noqa: ANN001
                                                         tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make(tmp_path)
    before = sorted(tmp_path.rglob("*"))
    argv = ["score", *[a.replace("{p}", str(tmp_path)) for a in argv_tail], "--json", str(tmp_path / "out.json")]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
    assert sorted(tmp_path.rglob("*")) == before


def test_the_api_refuses_bad_input_with_the_same_messages(held_out: tuple[torch.Tensor, torch.Tensor]) -> None:
    images, labels = held_out
    with pytest.raises(DataError, match="state their range"):
        harness.score(images.float(), labels)
    with pytest.raises(ConfigError, match="speed needs a trained network"):
        harness.score(images, labels, {"speed"})
