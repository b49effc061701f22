"""A run's post-hoc EMA snapshots on disk (Karras et al. 2024): written during training, read to reconstruct the
EMA of any length for sampling (`sample.ema_length`)."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor

from .._util import CheckpointError, atomic_write, sweep_partial_files
from ..nn import PowerEMA, coefficients, combine, gamma_of

SNAPSHOTS = "ema_snapshots"  # the folder of a run's snapshots: one file per snapshot step, every tracked profile in it


def save_snapshot(run_dir: Path, step: int, ema: PowerEMA) -> None:
    """The tracked EMAs after optimiser step `step` into run_dir/ema_snapshots/step_<step>.pt."""
    state = {"step": step, **ema.state_dict()}
    atomic_write(run_dir / SNAPSHOTS / f"step_{step:07d}.pt", lambda f: torch.save(state, f))


def snapshot_bytes(run_dir: Path) -> int:
    """Disk used by the run's snapshots."""
    folder = Path(run_dir) / SNAPSHOTS
    return sum(p.stat().st_size for p in folder.glob("step_*.pt")) if folder.is_dir() else 0


def posthoc_weights(run_dir: Path, sigma_rel: float, step: int) -> dict[str, Tensor]:
    """The network's weights under the power-function EMA of length `sigma_rel` at optimiser step `step`, as the
    least-squares combination of every snapshot the run saved up to that step."""
    folder = Path(run_dir) / SNAPSHOTS
    if folder.is_dir():
        sweep_partial_files(folder)
    paths = sorted(folder.glob("step_*.pt")) if folder.is_dir() else []
    if not paths:
        raise CheckpointError(f"{run_dir} holds no post-hoc EMA snapshots, so sample.ema_length={sigma_rel} cannot be "
                              f"reconstructed; train it with train.ema_profiles=[0.05, 0.1] or set sample.ema_length=0")
    states, profiles = [], []
    for path in paths:
        try:
            snap = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as e:
            raise CheckpointError(f"post-hoc EMA snapshot {path} is truncated or corrupt ({type(e).__name__}); "
                                  f"delete the run folder and retrain") from None
        if int(snap["step"]) > step:
            continue
        for s, weights in zip(snap["sigma_rels"], snap["profiles"]):
            profiles.append((gamma_of(float(s)), int(snap["step"])))
            states.append(weights)
    return combine(states, coefficients(profiles, gamma_of(sigma_rel), step))
