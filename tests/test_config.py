import json
import re
from pathlib import Path

import pytest

from harness._util import ConfigError
from harness.config import (
    BUDGETS,
    PRESETS,
    RunConfig,
    SampleConfig,
    apply_overrides,
    config_from_dict,
    config_hash,
    config_to_dict,
    load_yaml,
    resolve_config,
)


def test_defaults_round_trip_through_json() -> None:
    cfg = RunConfig()
    assert config_from_dict(json.loads(json.dumps(config_to_dict(cfg)))) == cfg


def test_dotted_overrides_set_typed_values() -> None:
    cfg = resolve_config("baseline", "quick", ["model.skip=false", "train.lr=1e-3", "model.channels=[8, 16]",
                                               "model.attention_resolutions=[14]"])
    assert cfg.model.skip is False
    assert cfg.train.lr == pytest.approx(1e-3)
    assert cfg.model.channels == (8, 16)
    assert cfg.model.attention_resolutions == (14,)


@pytest.mark.parametrize("override, message", [
    ("model.skipp=false", "unknown key model.skipp; valid keys of model: channels"),
    ("modle.skip=false", "unknown key modle; valid keys: data, model"),
    ("model.skip=maybe", "model.skip: expected true or false, got 'maybe'"),
    ("train.steps=1.5", "train.steps: expected a whole number"),
    ("diffusion.timesteps=-5", "diffusion.timesteps must be >= 2, got -5"),
    ("sample.guidance=-1", "sample.guidance must be >= 0"),
    ("sample.eval_batch=-1", "sample.eval_batch must be >= 0 (0: the device's best), got -1"),
    ("sample.precision=fp16", "sample.precision must be one of fp32, bf16, got 'fp16' (str)"),
    ("sample.steps=2000", "sample.steps must be <= diffusion.timesteps=1000"),
    ("diffusion.schedule=cosin", "diffusion.schedule: unknown schedule 'cosin' (did you mean 'cosine'?)"),
    ("sample.sampler=ddimm", "did you mean 'ddim'?"),
    ("model.channels=[16, 30]", "model.channels must be positive multiples of model.norm_groups=8"),
    ("model.channels=[8, 8, 8, 8]", "model.channels has 4 levels, so the image side must divide by 8"),
    ("model.attention_resolutions=[5]", "must be feature-map sides of this network (28, 14, 7)"),
    ("train.p_uncond=1.5", "train.p_uncond must be in [0, 1)"),
    ("noequals", "must look like section.field=value"),
    ("eval.feature_extractor=inception-v3-compat", "eval.inception_weights must name a local Inception weights file"),
    ("eval.clip_templates=['a photo of {x}']", "eval.clip_templates must be one or more prompts that each contain {d}"),
    ("eval.reference=train", "eval.reference must be one of test, validation"),
])
def test_bad_values_name_the_field_and_the_rule(override: str, message: str) -> None:
    with pytest.raises(ConfigError) as e:
        resolve_config("baseline_v2", "quick", [override])
    assert message in str(e.value)


@pytest.mark.parametrize("interval, guidance, rule", [((0.5, 0.2), 3.0, "0 <= lo < hi <= 1"),
                                                      ((0.0, 1.5), 3.0, "0 <= lo < hi <= 1"),
                                                      ((0.2,), 3.0, "two fractions of T"),
                                                      ((0.2, 0.5), 0.0, "when sample.guidance is 0")])
def test_a_bad_guidance_interval_names_the_field_and_the_rule(interval: tuple, guidance: float, rule: str) -> None:
    with pytest.raises(ConfigError, match=rf"sample\.guidance_interval .*{re.escape(rule)}"):
        SampleConfig(guidance=guidance, guidance_interval=interval)


def test_hash_is_stable_and_tracks_every_field() -> None:
    a, b = resolve_config(), resolve_config()
    assert config_hash(a) == config_hash(b) and len(config_hash(a)) == 12
    assert config_hash(resolve_config(overrides=["train.seed=1"])) != config_hash(a)


# The quick budget's counts before it shrank to what the second baseline needs: with them, runs made then resolve
# to the folders they were cached in.
FIRST_QUICK = ["train.steps=1000", "train.batch_size=128", "train.val_every=200", "train.checkpoint_every=200"]
# ... and before it shrank again to what the third baseline needs (smaller batches learn more per image).
SECOND_QUICK = ["train.steps=400", "train.batch_size=128"]


def test_hash_of_the_first_quick_baseline_is_the_folder_its_runs_were_cached_in() -> None:
    # golden: a field added later must not move every cached run to a new folder
    assert [config_hash(resolve_config("baseline_v1", "quick", FIRST_QUICK + [f"train.seed={s}"]))
            for s in (0, 1, 2)] == ["f809c2541d56", "8ee87df38eff", "77e53c774333"]


@pytest.mark.parametrize(("key", "default", "other"), [("sample.precision", "fp32", "bf16"),
                                                      ("train.cpu_bf16", "false", "true")])
def test_a_field_added_later_is_hashed_only_away_from_its_default(key: str, default: str, other: str) -> None:
    at_default, away = (config_hash(resolve_config(overrides=[f"{key}={v}"])) for v in (default, other))
    assert at_default == config_hash(resolve_config()) and away != at_default  # bf16 gives other numbers: another result


def test_hash_leaves_out_execution_only_fields() -> None:
    # sample.compile changes the speed, not the samples: a run made with it off is the same run
    assert config_hash(resolve_config(overrides=["sample.compile=true"])) == config_hash(resolve_config())
    assert config_hash(resolve_config(overrides=["sample.eval_batch=64"])) == config_hash(resolve_config())


def test_precedence_is_defaults_preset_budget_overrides() -> None:
    cfg = resolve_config("report002", "smoke", ["train.steps=7"])
    assert cfg.diffusion.timesteps == 100  # preset
    assert cfg.train.batch_size == BUDGETS.get("smoke").batch_size  # budget
    assert cfg.train.steps == 7  # override
    assert cfg.preset == "report002" and cfg.budget == "smoke"


@pytest.mark.parametrize("preset", PRESETS.names())
@pytest.mark.parametrize("budget", BUDGETS.names())
def test_every_preset_resolves_at_every_budget(preset: str, budget: str) -> None:
    cfg = resolve_config(preset, budget)
    assert cfg.train.steps == BUDGETS.get(budget).steps


def test_smoke_budget_shrinks_width_to_groupnorm_multiples() -> None:
    cfg = resolve_config("report004", "smoke")
    assert cfg.model.channels == (8, 16, 32)
    assert all(c % cfg.model.norm_groups == 0 for c in cfg.model.channels)


def test_unknown_preset_and_budget_are_rejected() -> None:
    with pytest.raises(ConfigError, match="unknown preset 'baselin'"):
        resolve_config("baselin")
    with pytest.raises(ConfigError, match="unknown budget 'quik'"):
        resolve_config(budget="quik")


def test_overrides_leave_the_input_untouched() -> None:
    data = {"model": {"skip": True}}
    assert apply_overrides(data, ["model.skip=false"]) == {"model": {"skip": False}}
    assert data == {"model": {"skip": True}}


def test_yaml_errors_name_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("model:\n  skip: [true\n")
    with pytest.raises(ConfigError, match=r"bad.yaml: line \d+ is not valid YAML"):
        load_yaml(str(bad))
    with pytest.raises(ConfigError, match="no such file"):
        load_yaml(str(tmp_path / "missing.yaml"))


def test_yaml_config_file_is_validated(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("model:\n  channels: [8, 16]\ntrain:\n  lr: 1e-3\n")
    cfg = resolve_config(budget="smoke", base=load_yaml(str(path)), overrides=[])
    assert cfg.train.lr == pytest.approx(1e-3)
    assert cfg.model.channels == (8, 8)  # smoke scales the file's widths too
    path.write_text("- a list\n")
    with pytest.raises(ConfigError, match="must hold a mapping"):
        resolve_config(base=load_yaml(str(path)))


@pytest.mark.parametrize(("preset", "budget", "overrides", "digest"), [
    ("baseline_v1", "quick", FIRST_QUICK, "f809c2541d56"),
    ("baseline_v1", "smoke", [], "025d108a3c92"),
    ("report002", "quick", FIRST_QUICK, "da8abfbb76cc"),
    ("baseline_v2", "quick", SECOND_QUICK, "c536e3fd7c1b"),
    ("baseline_v2", "smoke", [], "eec18bb31bfa"),
    ("baseline_v3", "quick", [], "48339834f6f2"),
    ("baseline_v3", "smoke", [], "8017e33e7659"),
    ("baseline_v4", "quick", [], "a1f571a4cbf4"),
    ("baseline_v4", "smoke", [], "d0767a1cb17f"),
    ("baseline", "quick", [], "469771567f6e"),
    ("baseline", "smoke", [], "131cedb3eee3"),
])
def test_known_configs_keep_their_hash(preset: str, budget: str, overrides: list[str], digest: str) -> None:
    """A hash names the run folders on users' disks (results/runs/<hash>/): a change would orphan every one."""
    assert config_hash(resolve_config(preset, budget, overrides)) == digest
