"""Checkpoints: one file with weights, EMA, optimiser and progress, loaded with weights_only=True."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .._util import CheckpointError, HarnessError, atomic_write, memory_format
from ..config import RunConfig, config_from_dict, config_hash, config_to_dict
from ..core import Diffusion
from ..nn import BACKBONES
from ._posthoc import posthoc_weights

FORMAT = 1  # bump when the checkpoint layout changes
CHECKPOINT = "checkpoint.pt"


def build_model(cfg: RunConfig) -> nn.Module:
    """The network a config describes (its model.backbone), freshly initialised from the global RNG."""
    return BACKBONES.get(cfg.model.backbone)(cfg.model, cfg.data.image_size, cfg.diffusion.timesteps)


def save_checkpoint(path: Path, cfg: RunConfig, state: dict[str, Any]) -> None:
    """Write `state` plus the config and its hash atomically to `path`."""
    payload = {"format": FORMAT, "config": json.dumps(config_to_dict(cfg)), "config_hash": config_hash(cfg), **state}
    atomic_write(path, lambda f: torch.save(payload, f))


def load_checkpoint(path: Path) -> dict[str, Any]:
    """The checkpoint's dict; a missing, truncated or foreign file raises CheckpointError."""
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}; train one first with `harness train --out {path.parent}`")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise CheckpointError(f"checkpoint {path} is truncated or corrupt ({type(e).__name__}); delete it and retrain") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a harness checkpoint of format {FORMAT}")
    return state


def checkpoint_config(state: dict[str, Any], path: Path) -> RunConfig:
    """The RunConfig stored in a checkpoint."""
    try:
        return config_from_dict(json.loads(state["config"]))
    except (HarnessError, KeyError, ValueError) as e:
        raise CheckpointError(f"checkpoint {path} holds a config this harness cannot read ({e})") from None


@dataclass
class TrainedModel:
    cfg: RunConfig
    model: nn.Module
    diffusion: Diffusion
    step: int  # optimiser steps the weights have seen
    ema: bool  # whether these are the EMA weights


def load_trained(run_dir: Path, use_ema: bool = True, device: torch.device | str = "cpu",
                 ema_length: float = 0.0) -> TrainedModel:
    """The network of a run folder, with its EMA weights when it kept them and `use_ema` is set; with `ema_length`
    (a sigma_rel) the post-hoc EMA of that length, reconstructed from the run's snapshots."""
    path = Path(run_dir) / CHECKPOINT
    state = load_checkpoint(path)
    cfg = checkpoint_config(state, path)
    model = build_model(cfg)
    if ema_length:
        weights = state["ema"] = posthoc_weights(Path(run_dir), ema_length, int(state["step"]))
    else:
        weights = state["ema"] if use_ema and state.get("ema") is not None else state["model"]
    try:
        model.load_state_dict(weights)
    except RuntimeError as e:
        raise CheckpointError(f"checkpoint {path} does not fit its own config ({str(e).splitlines()[0]})") from None
    device = torch.device(device)
    model.to(device).to(memory_format=memory_format(device)).eval()
    return TrainedModel(cfg, model, Diffusion(cfg.diffusion), int(state["step"]), weights is state.get("ema"))
