"""`harness time-to-quality`: the curves of three real trainings, their table, plot and the ratio to equal quality."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from harness.cli import main
from harness.perf import write_perf_report
from harness.perf.peers import equal_quality
from harness.perf.peers._time_to_quality import Curve, Point

ROOT = Path(__file__).resolve().parents[1]
BASELINES = ROOT / "tests" / "benchmarks" / "baselines"


def _curve(system: str, *points: tuple[float, float]) -> Curve:
    return Curve(system, "", [Point(i + 1, seconds, acc, 100.0) for i, (seconds, acc) in enumerate(points)])


def test_equal_quality_is_the_first_judged_point_at_the_current_baselines_final_share() -> None:
    current = _curve("current", (10, 0.5), (30, 0.97))
    slower = _curve("first", (20, 0.6), (60, 0.97), (120, 0.99))  # exactly equal counts as reached
    never = _curve("peer", (20, 0.3), (90, 0.96))
    assert equal_quality([current, slower, never]) == [("first", 60, 120), ("peer", None, 90)]


@pytest.mark.slow
def test_a_real_run_judges_every_kept_point_of_three_trainings_and_states_the_ratio(
        tmp_path: Path, classifier, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: ANN001
    assert main(["time-to-quality", "--budget", "smoke", "--per-class", "2", "--results", str(tmp_path), "--quiet"]) == 0
    record = json.loads((tmp_path / "perf" / "time_to_quality.json").read_text())
    assert [c["system"] for c in record["curves"]] == ["current baseline", "first baseline", "diffusers peer"]
    current, first, peer = ([p["step"] for p in c["points"]] for c in record["curves"])
    assert current == [2, 5, 10, 15, 20]  # KEPT fractions of the smoke budget's 20 steps, then the end
    assert first == [4, 8, 16, 25, 33]  # 5/3 as many steps, at batch 128
    assert peer[-1] == 33 and peer == sorted(peer) and len(peer) == 5
    for curve in record["curves"]:
        seconds = [p["seconds"] for p in curve["points"]]
        assert seconds == sorted(seconds) and seconds[0] > 0
        assert all(0 <= p["class_acc"] <= 1 and math.isfinite(p["fid"]) and p["fid"] > 0 for p in curve["points"])
    assert record["digits"] == 20 and "logical cores" in record["machine"]
    text = capsys.readouterr().out
    assert "`harness time-to-quality --budget smoke --per-class 2`" in text and "| diffusers peer | 33 |" in text
    assert "Training time to the current baseline's final quality" in text
    assert text.count("- first baseline: ") == 2 and text.count("- diffusers peer: ") == 2  # recipe and ratio
    assert (tmp_path / "perf" / "time_to_quality.png").stat().st_size > 10_000
    perf = write_perf_report(tmp_path, BASELINES, tmp_path / "sampler", tmp_path / "guidance_interval").read_text()
    assert "## Time to quality: the current baseline, the first one and the peer" in perf
    assert "![Recognised share and FID against training seconds](time_to_quality.png)" in perf
