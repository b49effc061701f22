"""bench-compare: the committed baseline passes against itself, a deliberate slow-down fails, a slower machine does not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.bench import CALIBRATION, compare, regressions
from harness.cli import main

BASELINE = Path(__file__).parent / "benchmarks" / "baseline.json"


def scaled(tmp_path: Path, factors: dict[str, float]) -> Path:
    """A copy of the baseline run with some medians multiplied ('*' = every benchmark)."""
    data = json.loads(BASELINE.read_text())
    for bench in data["benchmarks"]:
        bench["stats"]["median"] *= factors.get(bench["name"], factors.get("*", 1.0))
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
    assert regressions(compare(scaled(tmp_path, {"*": 3.0}), BASELINE)) == []
    assert [r.name for r in regressions(compare(scaled(tmp_path, {CALIBRATION: 0.5}), BASELINE))]  # all look 2x slower


def test_a_file_that_is_not_benchmark_json_is_one_clear_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "x.json").write_text("{}")
    assert main(["bench-compare", str(tmp_path / "x.json"), "--baseline", str(BASELINE)]) == 2
    assert "is not a pytest-benchmark JSON file" in capsys.readouterr().err
