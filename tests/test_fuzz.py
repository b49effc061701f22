"""Fuzzing the config and spec loaders: any input ends in a config/spec or in the project's own clear error."""

from __future__ import annotations

from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings, strategies as st

from harness._util import HarnessError
from harness.config import RunConfig, apply_overrides, config_from_dict, config_to_dict, resolve_config
from harness.studies import SPEC_KEYS, StudySpec, load_spec

DEFAULTS = config_to_dict(RunConfig())
KEYS = [f"{section}.{key}" for section, fields in DEFAULTS.items() if isinstance(fields, dict) for key in fields]
scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True),
                    st.text(max_size=12), st.sampled_from(["linear", "cosine", "ddim", "eps", "v", "smoke", "nan"]))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
                      max_leaves=8)
known_or_random_key = st.sampled_from(KEYS) | st.text(min_size=1, max_size=20)
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(st.dictionaries(known_or_random_key, values, max_size=6))
def test_config_from_any_overrides_is_a_config_or_a_clear_error(fields: dict[str, object]) -> None:
    overrides = [f"{k}={yaml.safe_dump(v, default_flow_style=True).strip()}" for k, v in fields.items()]
    try:
        assert isinstance(resolve_config("baseline", "smoke", overrides), RunConfig)
    except HarnessError as e:
        assert str(e)


@FUZZ
@given(st.dictionaries(st.sampled_from(list(DEFAULTS)) | st.text(max_size=8), values, max_size=5))
def test_config_from_any_mapping_is_a_config_or_a_clear_error(data: dict[str, object]) -> None:
    try:
        config_from_dict(data)
    except HarnessError as e:
        assert str(e)


@FUZZ
@given(st.lists(st.text(max_size=30), max_size=4))
def test_any_override_text_is_applied_or_refused_clearly(texts: list[str]) -> None:
    try:
        apply_overrides(DEFAULTS, texts)
    except HarnessError as e:
        assert str(e)


@FUZZ
@given(st.dictionaries(st.sampled_from(SPEC_KEYS) | st.text(max_size=8), values, max_size=8), st.booleans())
def test_any_spec_file_loads_or_is_refused_clearly(tmp_path: Path, data: dict[str, object], as_yaml_text: bool) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(data) if as_yaml_text else str(data))
    try:
        assert isinstance(load_spec(path), StudySpec)
    except HarnessError as e:
        assert str(e)
