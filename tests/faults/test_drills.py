"""Kill drills at their smallest: one random kill each, then the invariants the reliability report counts."""

from __future__ import annotations

import random
from pathlib import Path

from harness.metrics import LoadedClassifier
from harness.reliability import drill_spec, report_drill, train_drill
from harness.studies import load_spec, run_study


def test_training_killed_at_random_resumes_to_the_uninterrupted_weights(tmp_path: Path) -> None:
    result = train_drill(tmp_path, kills=1, rng=random.Random(3))
    assert result.log.final_status == 0
    assert sum(result.log.kills.values()) + result.log.runs >= 2
    assert result.checks["weights equal an uninterrupted run's"]
    assert result.ok, (result.checks, result.partial, result.log)


def test_report_writing_killed_at_random_leaves_the_last_good_report(tmp_path: Path, classifier: LoadedClassifier) -> None:
    spec_path = tmp_path / "drill.yaml"
    spec_path.write_text(drill_spec("drill", "[mse]").replace("seeds: [0, 1]", "seeds: [0]"))
    run_study(load_spec(spec_path), tmp_path / "results", progress=False)
    result = report_drill(tmp_path / "results", kills=1, rng=random.Random(0))
    assert result.checks == {"tables and report equal the last good ones": True}
    assert result.partial == [] and result.lost == []
    assert result.ok
