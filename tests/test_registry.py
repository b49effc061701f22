import pytest

from harness._util import ConfigError, Registry


def make() -> Registry[int]:
    reg: Registry[int] = Registry("schedule", "test family")
    reg.register("linear")(1)
    reg.register("cosine")(2)
    return reg


def test_get_returns_the_registered_member() -> None:
    assert make().get("cosine") == 2
    assert make().names() == ["linear", "cosine"]


def test_unknown_name_lists_valid_names_and_the_closest() -> None:
    with pytest.raises(ConfigError, match=r"unknown schedule 'cosin' \(did you mean 'cosine'\?\); valid: linear, cosine"):
        make().get("cosin")


def test_a_name_is_registered_once() -> None:
    reg = make()
    with pytest.raises(ValueError, match="registered twice"):
        reg.register("linear")(3)
