"""Tiny study specs shared by the study, worker and fault tests (smoke budget, 6 training steps)."""

from __future__ import annotations

from pathlib import Path

TINY_SET = "[train.steps=6, train.val_every=3, train.checkpoint_every=3, train.val_images=32, sample.grid_per_class=1]"

GRID = f"""
name: skiptest
description: Does the U-Net need its skip connections?
base: {{preset: baseline, set: {TINY_SET}}}
vary:
  model.skip: [true, false]
seeds: [0, 1]
budget: smoke
metrics: [mse]
"""

TUNE = f"""
name: tunetest
description: Which learning rate and width?
base: {{preset: baseline, set: {TINY_SET}}}
search:
  train.lr: {{float: [1.0e-4, 1.0e-2], log: true}}
  model.channels: {{choices: [[8, 16, 32], [16, 32, 64]]}}
  train.batch_size: {{choices: [16, 32]}}
objective: {{metric: mse}}
trials: 4
seeds: [0]
budget: smoke
metrics: [mse]
"""


def write_spec(folder: Path, text: str, name: str = "spec.yaml") -> Path:
    path = folder / name
    path.write_text(text)
    return path
