"""The claims table: verdict rules, coverage of the reports, and the difficulty-based claims computed
from a real smoke analysis."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pandas as pd
import pytest

from harness._util import SPECS, ConfigError
from harness.analyses.reproduce import (
    CLAIMS,
    INVALID,
    MIN_RECOGNISED,
    NOT_MEASURED,
    UNMEASURABLE,
    Evidence,
    Finding,
    best_recognised,
    floored,
    markdown,
    paired_difference,
    selected,
    signed,
    within,
)
from harness.studies import load_spec

VERDICTS = {"supported", "contradicted", "inconclusive", "not measured", "invalid at this budget"}


def test_signed_and_within_rules() -> None:
    assert signed(0.2, 0.1, 0.3, +1) == "supported"
    assert signed(0.2, 0.1, 0.3, -1) == "contradicted"
    assert signed(0.0, -0.1, 0.1, +1) == "inconclusive"
    assert signed(math.nan, math.nan, math.nan, +1) == "inconclusive"
    assert within(0.45, 0.55, 0.4, 0.6) == "supported"
    assert within(0.65, 0.7, 0.4, 0.6) == "contradicted"
    assert within(0.55, 0.65, 0.4, 0.6) == "inconclusive"


def test_paired_difference_pairs_by_seed() -> None:
    trials = pd.DataFrame({"state": ["COMPLETE"] * 6, "seed": [0, 1, 2] * 2, "model.skip": [True] * 3 + [False] * 3,
                           "class_acc": [0.9, 0.8, 0.85, 0.7, 0.6, 0.65]})
    effect, low, high, n = paired_difference(trials, "model.skip", True, False, "class_acc")
    assert n == 3 and effect == pytest.approx(0.2) and low == pytest.approx(0.2) and high == pytest.approx(0.2)
    assert math.isnan(paired_difference(trials, "model.skip", True, False, "fid")[0])


def test_below_the_validity_floor_a_verdict_becomes_invalid_with_the_figure() -> None:
    supported = Finding("x", 0.2, 0.1, 0.3, "supported", "3 seeds", recognised=0.12)
    invalid = floored(supported)
    assert invalid.verdict == INVALID and invalid.detail.startswith("the best compared network's samples are "
                                                                    "recognised 12%") and "3 seeds" in invalid.detail
    assert floored(Finding("x", 0.2, 0.1, 0.3, "supported", recognised=MIN_RECOGNISED)).verdict == "supported"
    assert floored(Finding("x", 0.2, 0.1, 0.3, "contradicted")).verdict == "contradicted"  # real digits: no floor
    assert floored(Finding("x", math.nan, math.nan, math.nan, NOT_MEASURED, recognised=0.1)).verdict == NOT_MEASURED


def test_a_studys_floor_is_its_best_compared_level() -> None:
    trials = pd.DataFrame({"state": ["COMPLETE"] * 5 + ["FAIL"], "seed": [0, 1, 2, 0, 1, 2],
                           "model.skip": [True] * 3 + [False] * 3, "class_acc": [0.9, 0.8, 0.85, 0.1, 0.2, math.nan]})
    assert best_recognised(trials, "model.skip", (True, False)) == pytest.approx(0.85)
    assert best_recognised(trials, "model.skip", (False,)) == pytest.approx(0.15)
    assert math.isnan(best_recognised(trials.drop(columns="class_acc"), "model.skip", (True, False)))


def test_every_report_has_claims_and_ids_are_unique() -> None:
    ids = [c.id for c in CLAIMS] + [u.id for u in UNMEASURABLE]
    assert len(ids) == len(set(ids))
    assert {i.split("-")[0] for i in ids} == {"000", "001", "002", "003", "004"}
    assert {c.experiment.split(" ")[0] for c in CLAIMS} >= {"difficulty", "timesteps", "ema", "skip", "conditioning",
                                                             "schedule_t100"}


def test_only_selects_claims_and_names_the_choices_when_nothing_matches() -> None:
    assert {c.id for c in selected(("003",))} == {"003-recognisable", "003-T300", "003-T500", "003-ema"}
    with pytest.raises(ConfigError, match="matches no claim.*000-hardest"):
        selected(("nope",))


def test_difficulty_claims_from_a_real_smoke_analysis(analysed, tmp_path: Path) -> None:  # noqa: ANN001
    result, _ = analysed
    evidence = Evidence("smoke", tmp_path, progress=False)
    evidence.__dict__["difficulty"] = result  # the analysis the session fixture already ran
    rows = []
    for claim in CLAIMS:
        if not claim.experiment.startswith("difficulty"):
            continue
        f = claim.test(evidence)
        assert f.verdict in VERDICTS, claim.id
        if f.verdict == NOT_MEASURED:
            # CLIP claims without weights here; guidance claims for w the smoke fixture did not sweep
            assert ("clip" in claim.id and "CLIP" in f.detail) or ("guidance" in claim.id and "not swept" in f.detail)
            continue
        if math.isfinite(f.low):
            assert f.low - 1e-9 <= f.effect <= f.high + 1e-9, claim.id
        # smoke networks draw no digits: every verdict on their samples is invalid at this budget
        assert f.recognised < MIN_RECOGNISED and floored(f).verdict == INVALID, claim.id
        rows.append({"claim": claim.id, "says": claim.text, "experiment": claim.experiment, "measure": f.measure,
                     "effect": f.effect, "ci95_low": f.low, "ci95_high": f.high, "verdict": f.verdict, "detail": f.detail})
    text = markdown(pd.DataFrame(rows), "smoke", {"difficulty": "x"}, 1.0, partial=True)
    assert "measured at the smoke budget" in text and "a subset" in text
    assert all(r["claim"] in text for r in rows) and all(u.id in text for u in UNMEASURABLE)


def test_the_shipped_specs_the_claims_run_are_found_from_an_installed_package() -> None:
    # the claims' studies load their spec from harness._util.SPECS; a wrong depth once sent it into the package
    root = Path(__file__).resolve().parents[1]
    assert SPECS == root / "ablations"
    source = (root / "harness" / "analyses" / "reproduce" / "_claims.py").read_text()
    named = set(re.findall(r'(?:study_effect|unstable_schedule)\("([a-z0-9_]+)"', source)) | {"timesteps"}
    assert named >= {"skip", "ema", "timesteps"}
    for name in named:
        assert load_spec(SPECS / f"{name}.yaml").name == name
