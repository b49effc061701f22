"""bench-compare: the committed baseline passes against itself, a deliberate slow-down fails, a slower machine does not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.bench import CALIBRATION_KEY, compare, regressions
from harness.cli import main

BASELINE = Path(__file__).parent / "benchmarks" / "baseline.json"


def scaled(tmp_path: Path, factors: dict[str, float], calibration: float = 1.0) -> Path:
    """A copy of the baseline run with some medians multiplied ('*' = every benchmark), and every
    benchmark's calibration by `calibration`."""
    data = json.loads(BASELINE.read_text())
    for bench in data["benchmarks"]:
        bench["stats"]["median"] *= factors.get(bench["name"], factors.get("*", 1.0))
        bench["extra_info"][CALIBRATION_KEY] *= calibration
    path = tmp_path / "bench.json"
    path.write_text(json.dumps(data))
    return path


def test_the_committed_baseline_covers_the_suite_and_passes_against_itself(capsys: pytest.CaptureFixture[str]) -> None:
    names = {r.name for r in compare(BASELINE, BASELINE)}
    assert {"test_train_step", "test_network_evaluation", "test_ddim_sample_of_a_batch[ddim]",
            "test_ddim_sample_of_a_batch[cfg]", "test_fid_kid_on_a_fixed_feature_set",
            "test_data_loading_one_epoch_of_batches"} <= names
    assert main(["bench-compare", str(BASELINE), "--baseline", str(BASELINE), "--check"]) == 0
    assert "no benchmark more than 25% slower" in capsys.readouterr().out


def test_a_deliberate_slowdown_fails_bench_check_with_a_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    slow = scaled(tmp_path, {"test_train_step": 1.5})
    assert main(["bench-compare", str(slow), "--baseline", str(BASELINE), "--check"]) == 1
    out, err = capsys.readouterr()
    assert [line for line in out.splitlines() if "REGRESSED" in line][0].startswith("| test_train_step | ")
    assert "+50%" in out and "test_train_step" in err
    assert main(["bench-compare", str(slow), "--baseline", str(BASELINE)]) == 0  # `make bench` reports, never fails


def test_a_uniformly_slower_machine_is_not_a_regression(tmp_path: Path) -> None:
    assert regressions(compare(scaled(tmp_path, {"*": 3.0}, calibration=3.0), BASELINE)) == []
    assert len(regressions(compare(scaled(tmp_path, {}, calibration=0.5), BASELINE))) == 7  # all look 2x slower


def test_each_benchmark_is_read_against_the_calibration_timed_around_it(tmp_path: Path) -> None:
    data = json.loads(BASELINE.read_text())
    for bench in data["benchmarks"]:  # the machine slowed 2x for the train step alone, calibration included
        if bench["name"] == "test_train_step":
            bench["stats"]["median"] *= 2
            bench["extra_info"][CALIBRATION_KEY] *= 2
    (tmp_path / "drift.json").write_text(json.dumps(data))
    assert regressions(compare(tmp_path / "drift.json", BASELINE)) == []


def test_a_run_without_per_benchmark_calibration_says_how_to_record_one(tmp_path: Path,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    data = json.loads(BASELINE.read_text())
    del data["benchmarks"][2]["extra_info"][CALIBRATION_KEY]
    (tmp_path / "old.json").write_text(json.dumps(data))
    assert main(["bench-compare", str(tmp_path / "old.json"), "--baseline", str(BASELINE)]) == 2
    err = capsys.readouterr().err
    assert f"has no extra_info.{CALIBRATION_KEY}" in err and "make bench-baseline" in err


def test_a_file_that_is_not_benchmark_json_is_one_clear_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "x.json").write_text("{}")
    assert main(["bench-compare", str(tmp_path / "x.json"), "--baseline", str(BASELINE)]) == 2
    assert "is not a pytest-benchmark JSON file" in capsys.readouterr().err


def test_the_median_of_three_runs_outvotes_one_unlucky_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    runs = []
    for i, factor in enumerate([1.0, 1.6, 0.9]):  # the second run's train step had bad luck
        (tmp_path / str(i)).mkdir()
        runs.append(str(scaled(tmp_path / str(i), {"test_train_step": factor})))
    assert regressions(compare(Path(runs[1]), BASELINE))  # alone it would fail the gate
    out = tmp_path / "median.json"
    assert main(["bench-median", *runs, "--out", str(out)]) == 0
    assert regressions(compare(out, BASELINE)) == []
    train = {r.name: r for r in compare(out, BASELINE)}["test_train_step"]
    assert train.change == pytest.approx(0.0)  # the entry is the 1.0 run's, whole
    assert json.loads(out.read_text())["median_of"] == runs
