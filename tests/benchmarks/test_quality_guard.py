"""Beside the speed gate, a quality gate: a fixed-seed smoke training reaches its recorded validation MSE."""

from __future__ import annotations

import json
from pathlib import Path

from harness.config import resolve_config
from harness.runs import train

RECORD = json.loads((Path(__file__).parent / "quality.json").read_text())


def test_fixed_seed_training_reaches_its_recorded_validation_mse(tmp_path: Path) -> None:
    cfg = resolve_config(RECORD["preset"], RECORD["budget"], RECORD["overrides"])
    result = train(cfg, tmp_path / "run", progress=False, grid=False)
    assert result.status == "finished" and result.val_loss is not None
    change = result.val_loss / RECORD["val_mse"] - 1
    assert abs(change) <= RECORD["tolerance"], f"val MSE {result.val_loss:.5f} is {change:+.1%} off the recorded {RECORD['val_mse']}"
