from __future__ import annotations

from harness.config import EXTREME_GUIDANCE, cautions, ema_decay_unreached, resolve_config


def test_the_baseline_raises_no_caution() -> None:
    assert cautions(resolve_config("baseline", "smoke")) == []


def test_extreme_guidance_is_allowed_but_flagged() -> None:
    cfg = resolve_config("baseline", "smoke", [f"sample.guidance={EXTREME_GUIDANCE + 5}"])
    assert len(cautions(cfg)) == 1 and "is extreme" in cautions(cfg)[0]


def test_a_schedule_that_leaves_signal_at_T_is_flagged() -> None:
    cfg = resolve_config("baseline_v2", "smoke", ["diffusion.schedule=linear", "diffusion.timesteps=50"])
    assert any("sqrt(alpha_bar_T)" in c for c in cautions(cfg))


def test_an_ema_decay_the_warm_up_never_reaches_is_flagged() -> None:
    """At 600 steps the warm-up ceiling ends at 600/609: 0.999 is never used, 0.98 is (from step 490)."""
    idle = cautions(resolve_config("baseline", "quick", ["train.steps=600", "train.ema_decay=0.999"]))
    assert len(idle) == 1 and "never takes effect in 600 steps" in idle[0] and "step 8990" in idle[0]
    assert "above 0.9852" in idle[0]
    assert cautions(resolve_config("baseline", "quick", ["train.steps=600", "train.ema_decay=0.98"])) == []
    assert cautions(resolve_config("baseline", "quick", ["train.steps=600", "train.ema=false", "train.ema_decay=0.999"])) == []


def test_the_default_decay_is_described_not_cautioned() -> None:
    """The default's shortfall at short budgets is documented on the field; only a chosen decay is a caution."""
    cfg = resolve_config("baseline", "quick", ["train.steps=600"])
    assert ema_decay_unreached(cfg.train) is not None and cautions(cfg) == []
