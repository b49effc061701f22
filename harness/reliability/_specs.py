"""The tiny study and run the drills interrupt, and that the bad-input cases point at (smoke budget)."""

from __future__ import annotations

DRILL_OVERRIDES = ("train.steps=30", "train.val_every=10", "train.checkpoint_every=5", "train.val_images=32",
                   "sample.grid_per_class=1")  # long enough that random kills land inside training


def drill_spec(name: str = "drill", metrics: str = "[mse, class_acc]") -> str:
    """A 2 x 2 grid (skip on/off x seeds 0, 1): four trials, each training its own network."""
    return f"""
name: {name}
description: Reliability drill (model.skip on and off, two seeds)
base: {{preset: baseline, set: [{", ".join(DRILL_OVERRIDES)}]}}
vary:
  model.skip: [true, false]
seeds: [0, 1]
budget: smoke
metrics: {metrics}
"""
