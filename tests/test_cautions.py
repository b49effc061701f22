from __future__ import annotations

from harness.config import EXTREME_GUIDANCE, cautions, resolve_config


def test_the_baseline_raises_no_caution() -> None:
    assert cautions(resolve_config("baseline", "smoke")) == []


def test_extreme_guidance_is_allowed_but_flagged() -> None:
    cfg = resolve_config("baseline", "smoke", [f"sample.guidance={EXTREME_GUIDANCE + 5}"])
    assert len(cautions(cfg)) == 1 and "is extreme" in cautions(cfg)[0]


def test_a_schedule_that_leaves_signal_at_T_is_flagged() -> None:
    cfg = resolve_config("baseline_v2", "smoke", ["diffusion.schedule=linear", "diffusion.timesteps=50"])
    assert any("sqrt(alpha_bar_T)" in c for c in cautions(cfg))
