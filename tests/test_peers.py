"""The diffusers peer: same process as the harness, trained and sampled the diffusers way, compared end to end."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
import torch

from harness._util import ConfigError, MissingExtra, native_bf16
from harness.cli import main
from harness.config import resolve_config
from harness.core import Diffusion
from harness.nn import count_parameters
from harness.perf import write_perf_report
from harness.perf.peers import (
    LIKE_ROUNDS,
    LIMITED,
    _compare,
    load_diffusers,
    peer_schedulers,
    peer_unet,
    run_peers,
    sample_peer,
    sample_peer_as_shipped,
    train_peer,
)
from harness.perf.peers._compare import _batch_speeds
from harness.runs import build_model

BASELINES = Path(__file__).parent / "benchmarks" / "baselines"


@pytest.mark.parametrize("schedule", ["linear", "cosine"])
def test_the_peer_noises_with_the_harness_alpha_bar(schedule: str) -> None:
    cfg = resolve_config("baseline_v2", "smoke", [f"diffusion.schedule={schedule}"])
    ddpm, ddim = peer_schedulers(cfg)
    ours = Diffusion(cfg.diffusion).alpha_bar.double()
    assert torch.allclose(ddpm.alphas_cumprod.double(), ours, atol=1e-6)
    assert torch.allclose(ddim.alphas_cumprod.double(), ours, atol=1e-6)


def test_the_peer_unet_has_the_harness_widths_and_a_comparable_size() -> None:
    cfg = resolve_config("baseline_v2", "quick")
    unet = peer_unet(cfg)
    assert tuple(unet.config.block_out_channels) == cfg.model.channels
    assert unet.config.num_class_embeds == 11  # 10 digits and the null label of guidance
    out = unet(torch.randn(3, 1, 28, 28), torch.tensor([0, 500, 999]), class_labels=torch.tensor([0, 9, 10])).sample
    assert out.shape == (3, 1, 28, 28)
    ratio = sum(p.numel() for p in unet.parameters()) / count_parameters(build_model(cfg))
    assert 0.75 < ratio < 1.5, ratio  # same widths and depth; diffusers' blocks differ in detail


def test_a_config_the_peer_cannot_mirror_is_refused_with_what_it_needs() -> None:
    with pytest.raises(ConfigError, match="model.attention_resolutions"):
        peer_unet(resolve_config("baseline_v2", "smoke", ["model.attention_resolutions=[7]"]))
    with pytest.raises(ConfigError, match="diffusion.schedule=sigmoid"):
        peer_schedulers(resolve_config("baseline_v2", "smoke", ["diffusion.schedule=sigmoid"]))


def test_without_diffusers_the_message_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "diffusers", None)  # import diffusers -> ImportError
    with pytest.raises(MissingExtra, match=r"make bench-peers.*\.\[peers\]"):
        load_diffusers()
    assert main(["peers", "--budget", "smoke", "--results", str(tmp_path)]) == 2
    assert "make bench-peers" in capsys.readouterr().err


def test_an_unknown_budget_fails_before_any_training(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["peers", "--budget", "huge", "--results", str(tmp_path)]) == 2
    assert "huge" in capsys.readouterr().err and not any(tmp_path.iterdir())


@pytest.mark.parametrize("lo, hi", [("0.8", "0.2"), ("0", "1.5")])
def test_a_bad_guidance_interval_fails_before_any_training(lo: str, hi: str, capsys: pytest.CaptureFixture[str],
                                                           tmp_path: Path) -> None:
    assert main(["peers", "--budget", "smoke", "--results", str(tmp_path), "--guidance-interval", lo, hi]) == 2
    assert "sample.guidance_interval must have 0 <= lo < hi <= 1" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_training_counts_steps_and_keeps_the_ema_weights_at_each_time_budget(mnist) -> None:  # noqa: ANN001
    cfg = resolve_config("baseline_v2", "smoke", ["train.steps=4", "train.batch_size=8"])
    run = train_peer(cfg, mnist, torch.device("cpu"), snapshot_at_s=(0.0, 1e9), progress=False)
    assert run.steps == 4 and run.seconds > 0 and run.images_per_s == pytest.approx(4 * 8 / run.seconds)
    assert run.snapshots[0.0][0] == 1  # the first step already spends more than 0 s
    assert run.snapshots[1e9][0] == 4  # a budget never reached: the final weights
    first, final = run.snapshots[0.0][1], run.model
    assert any(not torch.equal(a, b) for a, b in zip(first.parameters(), final.parameters()))


def test_sampling_is_seeded_in_range_and_one_image_per_label() -> None:
    cfg = resolve_config("baseline_v2", "smoke", ["sample.steps=3"])
    unet = peer_unet(cfg)
    _, ddim = peer_schedulers(cfg)
    labels = torch.tensor([0, 1, 2, 3])
    a, b = (sample_peer(unet, ddim, cfg.sample, labels, 28, torch.Generator().manual_seed(5)) for _ in range(2))
    assert a.shape == (4, 1, 28, 28) and torch.equal(a, b)
    assert float(a.min()) >= -1 and float(a.max()) <= 1


def test_the_as_shipped_draw_in_a_fresh_process_gives_the_digits_drawn_here() -> None:
    cfg = resolve_config("baseline_v2", "smoke", ["sample.steps=3"])
    torch.manual_seed(0)
    unet = peer_unet(cfg)
    _, ddim = peer_schedulers(cfg)
    labels = torch.tensor([0, 1, 2, 3])
    images, seconds = sample_peer_as_shipped(unet, cfg, labels, seed=5)  # the child builds the peer from the weights
    here = sample_peer(unet, ddim, cfg.sample, labels, 28, torch.Generator().manual_seed(5))
    torch.testing.assert_close(images, here)
    assert seconds > 0


def test_split_calls_draw_the_peers_samples_of_one_call() -> None:
    cfg = resolve_config("baseline_v2", "smoke", ["sample.steps=3"])
    unet = peer_unet(cfg)
    _, ddim = peer_schedulers(cfg)
    labels = torch.tensor([0, 1, 2, 3])
    one, split = (sample_peer(unet, ddim, cfg.sample, labels, 28, torch.Generator().manual_seed(5), n) for n in (None, 3))
    torch.testing.assert_close(split, one, atol=1e-3, rtol=0)  # kernels pick their blocking by batch size: rounding


@pytest.mark.skipif(not native_bf16(torch.device("cpu")), reason="this CPU has no native bf16 (AVX512-BF16 or AMX)")
def test_the_peer_in_bf16_draws_its_fp32_samples_to_bf16_rounding() -> None:
    cfg = resolve_config("baseline_v2", "smoke", ["sample.steps=3"])
    torch.manual_seed(0)
    unet = peer_unet(cfg)
    _, ddim = peer_schedulers(cfg)
    draw = lambda p: sample_peer(unet, ddim, replace(cfg.sample, precision=p), torch.tensor([0, 1, 2, 3]), 28,
                                 torch.Generator().manual_seed(5))
    fp32, bf16 = draw("fp32"), draw("bf16")
    # untrained, the peer's pixels sit at +-1: bf16's rounding flips a few across, so the mean is the measure
    assert bf16.dtype == torch.float32 and 0 < float((bf16 - fp32).abs().mean()) < 0.02


@pytest.mark.parametrize("compile", [False, True])
def test_like_for_like_draws_take_turns_and_report_medians(compile: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    draws = [100.0, 300.0] * compile + [1.0, 10.0, 4.0, 40.0, 2.0, 20.0]  # seconds, in the order the draws run
    assert LIKE_ROUNDS == 3
    monkeypatch.setattr(_compare, "timed", lambda device, draw: (None, draws.pop(0)))  # the draws are not run
    ours = type("Trained", (), {"model": None, "diffusion": None})()
    cfg = resolve_config("baseline_v2", "smoke")
    speeds = _batch_speeds(ours, None, None, cfg, torch.zeros(8), torch.device("cpu"), 128, compile=compile)
    first = (100.0, 300.0) if compile else (1.0, 10.0)
    assert speeds == {"harness": (first[0], 8 / 2.0), "diffusers": (first[1], 8 / 20.0)} and not draws


def test_the_limited_guidance_draw_takes_its_turn_after_the_peer(monkeypatch: pytest.MonkeyPatch) -> None:
    seconds = [1.0, 10.0, 0.5, 4.0, 40.0, 0.8, 2.0, 20.0, 1.0]  # harness, diffusers, limited; three rounds
    monkeypatch.setattr(_compare, "timed", lambda device, draw: (None, seconds.pop(0)))
    ours = type("Trained", (), {"model": None, "diffusion": None})()
    cfg = resolve_config("baseline_v2", "smoke")
    speeds = _batch_speeds(ours, None, None, cfg, torch.zeros(8), torch.device("cpu"), 128, interval=(0.2, 0.8))
    assert speeds == {"harness": (1.0, 4.0), "diffusers": (10.0, 0.4), LIMITED: (0.5, 10.0)} and not seconds


@pytest.mark.slow
def test_the_side_by_side_run_writes_every_figure_with_its_ratio(tmp_path: Path, classifier) -> None:  # noqa: ANN001
    path = run_peers("smoke", tmp_path, progress=False, compiled=False)  # compiling both would cost CI 1-2 min
    table = pd.read_csv(tmp_path / "perf" / "peers.csv")
    bf16_row = native_bf16(torch.device("cpu"))  # like for like in bf16 where the processor has it
    assert len(table) == 15 + bf16_row and table[["harness", "diffusers", "ratio"]].notna().all().all()
    assert table["measure"].str.contains("guiding only at t/T in [0.2, 0.8]", regex=False).sum() == 4
    assert table["measure"].str.contains("both under bf16 autocast").sum() == bf16_row
    assert table.loc[table["measure"].str.startswith("validation MSE"), ["harness", "diffusers"]].gt(0).all().all()
    assert table["ratio"].to_numpy() == pytest.approx((table["harness"] / table["diffusers"]).to_numpy())
    assert set(table.dropna(subset=["target_ratio"])["target_ratio"]) == {1.5, 2.0}
    text = path.read_text()
    assert "harness peers --budget smoke" in text and "logical cores" in text and "target >= 1.5x" in text
    assert (tmp_path / "perf" / "peers_harness.png").is_file() and (tmp_path / "perf" / "peers_diffusers.png").is_file()
    record = json.loads((tmp_path / "perf" / "peers.json").read_text())  # the perf report's input
    assert record["command"] == "harness peers --budget smoke" and "logical cores" in record["machine"]
    assert pd.DataFrame(record["rows"])["ratio"].tolist() == pytest.approx(table["ratio"].tolist())
    perf = write_perf_report(tmp_path, BASELINES, tmp_path / "sampler", tmp_path / "guidance_interval").read_text()
    assert "by `harness peers --budget smoke` (`make bench-peers`)" in perf and "| training images/s (" in perf
