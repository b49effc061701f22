"""harness peers-quality: the harness's and the peer's judged quality over training seeds, paired by seed."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from harness._util import mean_ci95
from harness.cli import main
from harness.perf import write_perf_report
from harness.perf.peers import _quality, quality_table, run_peer_quality, run_time, verdict

BASELINES = Path(__file__).parent / "benchmarks" / "baselines"


def record(seed: int, ours: tuple[float, float], peer: tuple[float, float]) -> dict:
    """A per-seed record as run_peer_quality keeps it: (accuracy, FID) per system."""
    return {"seed": seed, "config_hash": "x", "interval": None, "digits": 500,
            "systems": {"harness": {"class_acc": ours[0], "fid": ours[1]},
                        "diffusers": {"class_acc": peer[0], "fid": peer[1]}}}


@pytest.mark.parametrize("low, high, lower_is_better, expected", [
    (-0.03, -0.01, False, "the peer better (shown)"),  # accuracy: harness - peer below 0 on every reading
    (0.01, 0.03, False, "the harness better (shown)"),
    (-0.01, 0.02, False, "no difference shown"),
    (2.0, 9.0, True, "the peer better (shown)"),  # FID: harness - peer above 0 means the peer's is lower
    (-9.0, -2.0, True, "the harness better (shown)"),
    (-9.0, 2.0, True, "no difference shown"),
    (float("nan"), float("nan"), True, "one seed: no interval, run more seeds"),
])
def test_the_verdict_reads_the_paired_difference_s_interval(low: float, high: float, lower_is_better: bool,
                                                             expected: str) -> None:
    assert verdict(low, high, lower_is_better) == expected


def test_the_table_pairs_each_seed_s_figures_and_takes_the_interval_of_their_differences() -> None:
    records = [record(0, (0.96, 120.0), (0.98, 110.0)), record(1, (0.95, 118.0), (0.97, 119.0)),
               record(2, (0.97, 125.0), (0.985, 112.0))]
    table = quality_table(records).set_index("metric")
    acc, fid = table.loc["class_acc"], table.loc["fid"]
    assert (acc["system"], acc["seeds"]) == ("harness", 3)
    assert (acc["difference"], acc["difference_low"], acc["difference_high"]) == pytest.approx(
        mean_ci95([-0.02, -0.02, -0.015]))
    assert acc["harness"] == pytest.approx(0.96) and acc["diffusers"] == pytest.approx(0.978333, abs=1e-6)
    assert acc["verdict"] == "the peer better (shown)"  # small but steady: the pairing shows it
    assert fid["difference"] == pytest.approx((10 - 1 + 13) / 3) and fid["verdict"] == "no difference shown"


def test_every_harness_draw_is_held_against_the_peer() -> None:
    one = record(0, (0.96, 120.0), (0.98, 110.0))
    one["systems"]["harness, guidance interval"] = {"class_acc": 0.95, "fid": 115.0}
    table = quality_table([one, {**one, "seed": 1}])
    assert table["system"].tolist() == ["harness", "harness", "harness, guidance interval", "harness, guidance interval"]
    assert table.query("system != 'harness' and metric == 'fid'")["difference"].item() == pytest.approx(5.0)


def test_the_run_time_names_the_seeds_it_drew() -> None:
    assert run_time(38.44, [3]).startswith("in 38.4 min, drawing seed 3 (")
    assert run_time(84.6, [0, 1, 2]).startswith("in 84.6 min, drawing seeds 0, 1, 2 (")
    assert run_time(0.01, []).startswith("in 0.0 min, drawing none (")


@pytest.mark.parametrize("args, message", [
    (["--seeds", "0", "0"], "one or more distinct training seeds"),
    (["--per-class", "0"], "--per-class is the digits of each class judged per seed"),
    (["--guidance-interval", "0.8", "0.2"], "sample.guidance_interval must have 0 <= lo < hi <= 1"),
    (["--budget", "huge"], "huge"),
])
def test_bad_input_fails_before_any_training_and_writes_nothing(args: list[str], message: str,
                                                                capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["peers-quality", "--budget", "smoke", "--results", str(tmp_path), *args]) == 2
    assert message in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


@pytest.mark.slow
def test_a_real_run_judges_every_seed_and_a_rerun_with_more_seeds_reuses_them(
        tmp_path: Path, classifier, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    trained: list[int] = []
    train_peer = _quality.train_peer
    monkeypatch.setattr(_quality, "train_peer", lambda cfg, *a, **k: trained.append(cfg.train.seed) or train_peer(cfg, *a, **k))
    path = run_peer_quality("smoke", [0], tmp_path, per_class=2, progress=False)
    assert trained == [0] and len(list((tmp_path / "runs").iterdir())) == 1  # the harness's shared run
    text = path.read_text()
    assert "`harness peers-quality --budget smoke --seeds 0 --per-class 2`" in text and "| 0 | " in text
    assert "guiding only at t/T in [0.2, 0.8]" in text and "logical cores" in text
    assert "one seed: no interval, run more seeds" in text and "min, drawing seed 0 (any other seed read back" in text
    before = json.loads((tmp_path / "perf" / "peers_quality.json").read_text())["records"]
    run_peer_quality("smoke", [0, 1], tmp_path, per_class=2, progress=False)
    after = json.loads((tmp_path / "perf" / "peers_quality.json").read_text())
    assert trained == [0, 1] and after["records"][:1] == before  # seed 0 read back, not redrawn
    table = pd.read_csv(tmp_path / "perf" / "peers_quality.csv")
    assert len(table) == 4 and table[["harness", "diffusers", "difference_low"]].notna().all().all()
    assert table["difference"].to_numpy() == pytest.approx((table["harness"] - table["diffusers"]).to_numpy())
    assert [r["seeds"] for r in after["rows"]] == [2] * 4
    perf = write_perf_report(tmp_path, BASELINES, tmp_path / "sampler", tmp_path / "guidance_interval").read_text()
    assert "## Quality beside the peer over training seeds" in perf
    assert "by `harness peers-quality --budget smoke --seeds 0 1 --per-class 2` (`make bench-peers-quality`)" in perf
    assert "min, drawing seed 1 (any other seed" in perf and "| guiding only at t/T in [0.2, 0.8] | FID" in perf
