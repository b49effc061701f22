"""Every shipped study spec of ablations/ through the real runner at the smoke budget (its own file, so that the
test workers can run it beside test_study.py)."""

import dataclasses
from pathlib import Path

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
                               base={**spec.base, "set": [smoke_override(kv) for kv in spec.base.get("set", [])]})
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


def smoke_override(kv: str) -> str:
    """A base override of the sampling steps or the digits per class, cut as smoke_counts cuts an explicit point's."""
    key, _, value = kv.partition("=")
    if key == "eval.samples_per_class":
        return f"{key}=2"
    if key == "sample.steps":
        return f"{key}={min(max(2, int(value) // 5), 20)}"
    return kv


def smoke_counts(vary: dict | list) -> dict | list:
    """Explicit points with 2 digits per class where they set a count (the fewest with per-digit FID) and a fifth
    of their sampling steps, at least 2 and at most 20: the sampler study's own 200 digits per seed would take
    DDPM-1000 minutes even on the smoke network, and the formulation and ODE-solver studies' 9-49 evaluations per
    digit were a minute each of the suite on a slow 2-core host. The code paths are the same at any count."""
    if isinstance(vary, dict):
        return vary
    cut = ("eval.samples_per_class", "sample.steps")
    return [{**p, **{k: int(smoke_override(f"{k}={p[k]}").partition("=")[2]) for k in cut if k in p}} for p in vary]
