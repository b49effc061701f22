"""results/perf/speed.json: `harness speed`'s train-step figures with the machine and the command."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import torch

from .._util import machine, markdown_table, write_json
from ..config import RunConfig
from ..metrics import TrainSpeed

SPEED_FILE = "speed.json"  # in results/perf/
PROFILE_FILE = "speed_profile.txt"  # beside it: `harness speed --profile ROWS`
PEAK_TARGET = 0.5  # the goal: a train step at >= half of the machine's fp32 matmul GFLOP/s


def save_train_speed(path: Path, speed: TrainSpeed, cfg: RunConfig, device: torch.device, command: str) -> None:
    write_json(path, {**dataclasses.asdict(speed), "preset": cfg.preset, "budget": cfg.budget,
                      "batch_size": cfg.train.batch_size, "device": str(device), "machine": machine(device),
                      "command": command})


def train_speed_lines(path: Path) -> list[str]:
    """The report's train-step section from speed.json."""
    s = json.loads(path.read_text())
    verdict = "met" if s["fraction_of_peak"] >= PEAK_TARGET else "NOT met"
    return [f"Measured on {s['machine']} ({s['device']}) by `{s['command']}`.", "",
            *markdown_table(["measure", "value"], [
                ["network", f"{s['preset']} at {s['budget']}: {s['parameters']:,} parameters, batch {s['batch_size']}"],
                ["one optimiser step (forward, backward, fused AdamW)", f"{s['ms_per_step']:.0f} ms"],
                ["training images/s", f"{s['images_per_s']:.0f}"],
                ["FLOPs per step (convolutions and matmuls, counted by torch)", f"{s['gflop_per_step']:.1f} GFLOP"],
                ["achieved", f"{s['gflops']:.1f} GFLOP/s"],
                [f"{s.get('precision', 'fp32')} matmul peak of this machine, its best window before and after the steps",
                 f"{s['peak_gflops']:.1f} GFLOP/s"],
                ["fraction of the peak", f"{s['fraction_of_peak']:.0%} ({verdict}: target >= {PEAK_TARGET:.0%})"]])]
