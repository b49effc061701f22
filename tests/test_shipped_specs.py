"""Every shipped study spec of ablations/ through the real runner at the smoke budget (its own file, so that the
test workers can run it beside test_study.py)."""

import dataclasses
from pathlib import Path
from typing import Any

import pytest
import torch

from harness._util import ConfigError, devices
from harness.studies import load_spec, run_study, write_report

ABLATIONS = Path(__file__).parent.parent / "ablations"


@pytest.fixture(scope="module")
def shipped_results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One results root for all shipped specs: their common baseline network is trained once (results/runs/)."""
    return tmp_path_factory.mktemp("shipped")


@pytest.mark.parametrize("path", sorted(ABLATIONS.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_shipped_spec_runs_at_the_smoke_budget(path: Path, shipped_results: Path) -> None:
    """Each grid point of every shipped spec (first seed; tuning: two trials) through the real runner."""
    spec = load_spec(path).at_budget("smoke")
    spec = dataclasses.replace(spec, seeds=spec.seeds[:1], trials=min(spec.trials, 2), vary=smoke_counts(spec.vary),
                               base={**spec.base, "set": [*SMOKE_BASE, *smoke_sets(spec.base.get("set", []))]})
    bf16 = {"sample.precision", "train.cpu_bf16"} & set(spec.factors())
    if bf16 and not devices.native_bf16(torch.device("cpu")):
        with pytest.raises(ConfigError, match=f"{bf16.pop()}=.* needs native bfloat16"):  # as the next test
            run_study(spec, shipped_results, progress=False)
        return
    study = run_study(spec, shipped_results, progress=False)
    done = [t for t in study.get_trials() if t.state.name == "COMPLETE"]
    assert len(done) == spec.size
    for t in done:
        assert all(t.user_attrs.get(m, 0) == t.user_attrs.get(m, 0) for m in ("mse", "class_acc", "fid"))  # no NaN
        assert ("mse" in t.user_attrs) == ("mse" in spec.metrics) and ("fid" in t.user_attrs) == ("fid" in spec.metrics)
    report = write_report(study, spec, shipped_results / spec.name).read_text()
    assert f"{spec.size} complete of {spec.size}" in report


# what every spec's smoke run trains and measures on, below the smoke budget's own counts (a spec's own setting of
# one wins): the training and measuring code is the same at any count, and at the budget's counts the 24 specs were
# a third of the suite. Ten steps still validate, checkpoint and snapshot twice, so resuming and post-hoc EMA run.
SMOKE_BASE = ["train.steps=10", "train.val_every=5", "train.checkpoint_every=5", "train.val_images=32",
              "sample.grid_per_class=1", "eval.mse_images=16", "eval.samples_per_class=2"]
# how the smoke test cuts each count a shipped spec may set (why: smoke_counts)
SMOKE_CUTS = {"eval.samples_per_class": lambda n: 2, "sample.steps": lambda n: min(max(2, n // 5), 20),
              "train.ema_snapshot_every": lambda n: 5, "train.steps": lambda n: max(10, n // 100)}


def smoke_value(key: str, value: Any) -> Any:
    """`value` of `key` as the smoke test runs it: cut by SMOKE_CUTS where it is a count there, else unchanged."""
    return SMOKE_CUTS[key](int(value)) if key in SMOKE_CUTS else value


def smoke_sets(sets: list[str]) -> list[str]:
    """A spec's base overrides (KEY=VALUE) with their counts cut as an explicit point's are."""
    return [f"{key}={smoke_value(key, value)}" if key in SMOKE_CUTS else kv
            for kv, (key, _, value) in zip(sets, (kv.partition("=") for kv in sets))]


def smoke_counts(vary: dict | list) -> dict | list:
    """Explicit points with 2 digits per class where they set a count (the fewest with per-digit FID) and a fifth
    of their sampling steps, at least 2 and at most 20: the sampler study's own 200 digits per seed would take
    DDPM-1000 minutes even on the smoke network, and the formulation and ODE-solver studies' 9-49 evaluations per
    digit were a minute each of the suite on a slow 2-core host; and a hundredth of their training steps, at least
    10: the unconditional study's 1200-2400 steps at batch 128 were 4.6 minutes of the suite on its own. The code
    paths are the same at any count."""
    if isinstance(vary, dict):
        return vary
    return [{k: smoke_value(k, v) for k, v in p.items()} for p in vary]
