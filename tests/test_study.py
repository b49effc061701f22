from pathlib import Path

import pandas as pd
import pytest

from harness.cli import main
from harness.errors import ConfigError
from harness.report import write_report
from harness.spec import load_spec
from harness.study import open_study, run_study

SPEC = """
name: skiptest
description: Does the U-Net need its skip connections?
base: {preset: baseline, set: [train.steps=6, train.val_every=3, train.val_images=32, sample.grid_per_class=1]}
vary:
  model.skip: [true, false]
seeds: [0, 1]
budget: smoke
metrics: [mse]
"""


def write(tmp_path: Path, text: str, name: str = "spec.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_grid_study_runs_every_trial_once_and_writes_its_tables(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path, SPEC))
    study = run_study(spec, tmp_path / "results", progress=False)
    folder = tmp_path / "results" / "skiptest"
    assert (folder / "study.db").is_file()
    write_report(study, spec, folder)
    trials = pd.read_csv(folder / "trials.csv")
    assert len(trials) == 4 and set(trials["state"]) == {"COMPLETE"}
    assert sorted(zip(trials["model.skip"], trials["seed"])) == [(False, 0), (False, 1), (True, 0), (True, 1)]
    summary = pd.read_csv(folder / "summary.csv")
    assert len(summary) == 2 and list(summary["seeds"]) == [2, 2]
    for _, row in summary.iterrows():
        assert row["mse_ci95_low"] <= row["mse"] <= row["mse_ci95_high"]
    report = (folder / "report.md").read_text()
    assert "| model.skip | seeds | mse |" in report and "±" in report
    assert all((folder / "trials" / f"{n:04d}" / "metrics.json").is_file() for n in range(4))

    again = run_study(spec, tmp_path / "results", progress=False)  # a finished study does nothing
    assert len(again.get_trials()) == 4


def test_report_command_rebuilds_from_storage(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec_path = write(tmp_path, SPEC.replace("seeds: [0, 1]", "seeds: [0]"))
    assert main(["ablate", str(spec_path), "--results", str(tmp_path / "r"), "--quiet"]) == 0
    folder = tmp_path / "r" / "skiptest"
    (folder / "summary.csv").unlink()
    assert main(["report", "skiptest", "--results", str(tmp_path / "r")]) == 0
    assert (folder / "summary.csv").is_file() and "(one seed)" in (folder / "report.md").read_text()


def test_a_different_spec_may_not_reuse_a_study_folder(tmp_path: Path) -> None:
    open_study(load_spec(write(tmp_path, SPEC.replace("seeds: [0, 1]", "seeds: [0]"))), tmp_path / "r", None)
    other = load_spec(write(tmp_path, SPEC.replace("seeds: [0, 1]", "seeds: [5]"), "other.yaml"))
    with pytest.raises(ConfigError, match="holds results of a different spec named 'skiptest'"):
        open_study(other, tmp_path / "r", None)


@pytest.mark.parametrize("edit, message", [
    (("name: skiptest", "name: ../escape"), "name must be lower-case letters"),
    (("seeds: [0, 1]", "seeds: []"), "seeds must be a non-empty list"),
    (("model.skip: [true, false]", "model.skip: []"), "the grid would be empty"),
    (("model.skip: [true, false]", "model.skipp: [true]"), "unknown key model.skipp"),
    (("budget: smoke", "budget: quik"), "unknown budget 'quik'"),
    (("metrics: [mse]", "metrics: [msee]"), "metrics must be a non-empty list drawn from"),
    (("description:", "descriptin:"), "unknown key 'descriptin'"),
])
def test_bad_specs_are_rejected_before_anything_runs(tmp_path: Path, edit: tuple[str, str], message: str) -> None:
    path = write(tmp_path, SPEC.replace(*edit))
    with pytest.raises(ConfigError) as e:
        load_spec(path)
    assert message in str(e.value)
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize("path", sorted((Path(__file__).parent.parent / "ablations").glob("*.yaml")), ids=lambda p: p.stem)
def test_every_shipped_spec_is_valid(path: Path) -> None:
    spec = load_spec(path)
    assert spec.points() and spec.seeds


def test_another_budget_runs_under_its_own_name(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path, SPEC.replace("budget: smoke", "budget: quick")))
    smoke = spec.at_budget("smoke")
    assert smoke.name == "skiptest-smoke" and smoke.budget == "smoke"
    assert smoke.config({}, 0).train.steps == 6 and spec.at_budget("quick") is spec
    with pytest.raises(ConfigError, match="unknown budget 'fats'"):
        spec.at_budget("fats")
