from pathlib import Path

import pytest
from studyspecs import GRID, TUNE, write_spec

from harness._util import ConfigError
from harness.studies import load_spec, spec_from_json

ABLATIONS = Path(__file__).parent.parent / "ablations"


@pytest.mark.parametrize("edit, message", [
    (("name: skiptest", "name: ../escape"), "name must be lower-case letters"),
    (("name: skiptest", "name: runs"), "name 'runs' is taken by results/runs/"),
    (("name: skiptest", "name: reproduce-smoke"), "name 'reproduce-smoke' is taken by results/reproduce-smoke/"),
    (("seeds: [0, 1]", "seeds: []"), "seeds must be a non-empty list"),
    (("model.skip: [true, false]", "model.skip: []"), "the grid would be empty"),
    (("model.skip: [true, false]", "model.skipp: [true]"), "unknown key model.skipp"),
    (("budget: smoke", "budget: quik"), "unknown budget 'quik'"),
    (("metrics: [mse]", "metrics: [msee]"), "metrics must be a non-empty list drawn from"),
    (("description:", "descriptin:"), "unknown key 'descriptin'"),
    (("metrics: [mse]", "metrics: [mse]\ntrials: 3"), "objective and trials belong to tuning specs"),
    (("vary:", "search: {train.lr: {float: [0.1, 1]}}\nvary:"), "either vary (an ablation grid) or search"),
    (("model.skip: [true, false]", "train.ema_decay: [0.3, 0.9]"), "train.ema_decay=0.9 never takes effect in 6 steps"),
])
def test_bad_grid_specs_are_rejected_before_anything_runs(tmp_path: Path, edit: tuple[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as e:
        load_spec(write_spec(tmp_path, GRID.replace(*edit)))
    assert message in str(e.value)
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize("edit, message", [
    (("trials: 4", "trials: 0"), "trials must be a whole number >= 1"),
    (("seeds: [0]", "seeds: [0, 1]"), "a tuning spec takes one seed"),
    (("objective: {metric: mse}", "objective: {metric: fid}"), "objective fid needs metric 'fid'"),
    (("objective: {metric: mse}", "objective: {metric: loss}"), "objective must be {metric: NAME}"),
    (("{float: [1.0e-4, 1.0e-2], log: true}", "{float: [1.0e-2, 1.0e-4]}"), "must be [low, high] with low < high"),
    (("{float: [1.0e-4, 1.0e-2], log: true}", "{float: [0, 1.0e-2], log: true}"), "low > 0 when log: true"),
    (("{float: [1.0e-4, 1.0e-2], log: true}", "{range: [1, 2]}"), "search.train.lr must be {float: [low, high]}"),
    (("{choices: [16, 32]}", "{choices: []}"), "choices must be a non-empty list"),
    (("train.lr:", "train.lrr:"), "unknown key train.lrr"),
    (("{choices: [16, 32]}", "{choices: [16, 0]}"), "train.batch_size"),
    (("train.lr:", "train.ema_decay: {float: [0.1, 0.99]}\n  train.lr:"), "train.ema_decay=0.99 never takes effect"),
])
def test_bad_tuning_specs_are_rejected(tmp_path: Path, edit: tuple[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as e:
        load_spec(write_spec(tmp_path, TUNE.replace(*edit)))
    assert message in str(e.value)


def test_a_grid_of_ema_decays_its_steps_reach_is_accepted(tmp_path: Path) -> None:
    """The refusal is for decays the warm-up hides, not for the factor: below the last step's ceiling they differ."""
    spec = load_spec(write_spec(tmp_path, GRID.replace("model.skip: [true, false]", "train.ema_decay: [0.2, 0.3]")))
    assert [p["train.ema_decay"] for p in spec.points()] == [0.2, 0.3]


def test_a_tuning_spec_reads_its_search_and_objective(tmp_path: Path) -> None:
    spec = load_spec(write_spec(tmp_path, TUNE))
    assert spec.tuning and spec.size == 4 and spec.objective is not None and spec.objective.direction == "minimize"
    assert [d.key for d in spec.search] == ["train.lr", "model.channels", "train.batch_size"]
    assert spec.search[1].extremes() == [[8, 16, 32], [16, 32, 64]]


def test_a_search_over_what_validation_mse_measures_is_not_pruned_on_it(tmp_path: Path) -> None:
    assert load_spec(write_spec(tmp_path, TUNE)).prunable  # learning rate, widths and batch: one output target
    assert not load_spec(ABLATIONS / "tune.yaml").prunable  # prediction target, schedule and formulation
    assert not load_spec(write_spec(tmp_path, GRID)).prunable  # an ablation grid measures every variant


@pytest.mark.parametrize("text", [GRID, TUNE], ids=["grid", "tune"])
def test_a_spec_survives_its_json_round_trip(tmp_path: Path, text: str) -> None:
    import dataclasses
    import json

    spec = load_spec(write_spec(tmp_path, text))
    assert spec_from_json(json.loads(json.dumps(dataclasses.asdict(spec)))) == spec


def test_the_base_set_goes_before_the_budget(tmp_path: Path) -> None:
    """A spec's own widths are scaled by --budget smoke too, the steps it fixes are kept; its grid values win."""
    text = GRID.replace("budget: smoke", "budget: quick").replace("train.steps=6, ", "'model.channels=[32, 64, 128]', ")
    spec = load_spec(write_spec(tmp_path, text))
    assert spec.config({}, 0).model.channels == (32, 64, 128) and spec.config({}, 0).train.steps == 600
    smoke = spec.at_budget("smoke")
    assert smoke.name == "skiptest-smoke" and smoke.config({}, 0).model.channels == (8, 16, 32)
    assert smoke.config({}, 0).train.steps == 20 and smoke.config({"train.steps": 3}, 0).train.steps == 3
    fixed = load_spec(write_spec(tmp_path, GRID.replace("budget: smoke", "budget: quick")))  # base.set train.steps=6
    assert fixed.config({}, 0).train.steps == 6 and fixed.at_budget("smoke").config({}, 0).train.steps == 6
    assert fixed.at_budget("full").config({}, 0).train.batch_size == 128 and fixed.at_budget("full").config({}, 0).train.steps == 6
    with pytest.raises(ConfigError, match="unknown budget 'fats'"):
        spec.at_budget("fats")


@pytest.mark.parametrize("path", sorted(ABLATIONS.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_shipped_spec_is_valid(path: Path) -> None:
    spec = load_spec(path)
    assert spec.size >= 2 and spec.description
