"""`harness time-to-quality`: recognised share and FID against training seconds for the first baseline, the current
one and the diffusers peer, each trained once on this machine in one run, and the training time each needs to reach
the current baseline's quality.

Each system trains once with its own recipe; its weights (the EMA's) are kept at fractions of its training and
judged like its final weights. A kept point before the end is a snapshot of a run whose learning rate has not yet
decayed, so the curves are anytime curves: a run planned to be that short would end somewhat better.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import matplotlib.pyplot as plt
import torch
from torch import Tensor, nn

from ..._util import RESULTS, ConfigError, machine, markdown_table, perf_dir, resolve_device, write_json, write_text
from ...config import RunConfig, resolve_config
from ...data import Mnist, load_mnist
from ...runs import generate, grid_labels, kept_weights_path, load_trained, train
from ...studies import save_figure
from ._diffusers import PEER_PRESET
from ._judging import NOISE_SEED, judge, judged_noise
from ._sample import sample_peer_as_shipped
from ._train import train_peer

TIME_FILE = "time_to_quality.json"  # in results/perf/: the curves with the machine and the command
KEPT = (0.125, 0.25, 0.5, 0.75)  # fractions of each training whose weights are judged beside the final ones
# The first baseline's `quick` was 1000 steps of 128 digits: 5/3 of today's steps at 4x the batch. The systems
# compared with the current baseline train that long at every budget, so the curves overlap in seconds.
OLD_STEPS, OLD_BATCH = 5 / 3, 128


@dataclass(frozen=True)
class Point:
    step: int  # optimiser steps taken when the weights were kept
    seconds: float  # training seconds by then (optimiser steps only, no validation or checkpoints)
    class_acc: float  # the reference classifier reads the intended digit (w as the system's sample.guidance)
    fid: float  # FID in the reference classifier's feature space, against the 10k test digits


@dataclass(frozen=True)
class Curve:
    system: str  # its name in the table and the plot
    recipe: str  # how it trains and samples, in words
    points: list[Point]  # by training time, the last the final weights


def run_time_to_quality(budget: str = "quick", results: Path = RESULTS, per_class: int = 50,
                        progress: bool = True) -> Path:
    """Train the current baseline at `budget`, and the first baseline and the diffusers peer OLD_STEPS as long at
    batch OLD_BATCH, judging each at KEPT fractions of its training and at its end with `per_class` digits a class;
    write results/perf/time_to_quality.{json,md,png} and return the markdown's path."""
    if per_class < 1:
        raise ConfigError(f"--per-class must be >= 1 (digits of each class judged per point), got {per_class}")
    current = resolve_config("baseline", budget)
    longer = [f"train.steps={max(2, round(current.train.steps * OLD_STEPS))}", f"train.batch_size={OLD_BATCH}"]
    first, peer = resolve_config("baseline_v1", budget, longer), resolve_config(PEER_PRESET, budget, longer)
    device = resolve_device(current.train.device)
    data = load_mnist(current.data)
    labels = grid_labels(per_class)
    out = perf_dir(results)
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    curves = [_harness_curve("current baseline", current, data, labels, device, progress),
              _harness_curve("first baseline", first, data, labels, device, progress)]
    curves.append(_peer_curve(peer, curves[-1].points, data, labels, device, progress))
    minutes = (time.monotonic() - started) / 60
    command = f"harness time-to-quality --budget {budget} --per-class {per_class}"
    write_json(out / TIME_FILE, {"budget": budget, "machine": machine(device), "command": command, "minutes": minutes,
                                 "digits": len(labels), "curves": [asdict(c) for c in curves]})
    plot(curves, out / "time_to_quality.png")
    path = out / "time_to_quality.md"
    write_text(path, "\n".join(["# Time to quality", "", *time_lines(out / TIME_FILE)]) + "\n")
    return path


def _harness_curve(system: str, cfg: RunConfig, data: Mnist, labels: Tensor, device: torch.device,
                   progress: bool) -> Curve:
    """One fresh training of `cfg` (a cached run would not be timed here), judged at KEPT and at its end."""
    kept = tuple(f for f in KEPT if 1 <= round(f * cfg.train.steps) < cfg.train.steps)
    cfg = replace(cfg, train=replace(cfg.train, keep_weights_at=kept))
    with tempfile.TemporaryDirectory(prefix="harness-ttq-") as tmp:
        run = train(cfg, Path(tmp), progress, grid=False)
        trained = load_trained(Path(tmp), device=device)
        seconds_per_step = cfg.train.batch_size / run.images_per_s
        steps = [round(f * cfg.train.steps) for f in kept]
        weights = [torch.load(kept_weights_path(Path(tmp), s), map_location=device, weights_only=True) for s in steps]
    final = {k: v.detach().clone() for k, v in trained.model.state_dict().items()}
    points = []
    for step, state in [*zip(steps, weights, strict=True), (cfg.train.steps, final)]:
        trained.model.load_state_dict(state)
        images = generate(trained.model, trained.diffusion, cfg.sample, labels, cfg.data.image_size,
                          judged_noise(device))
        points.append(_point(step, step * seconds_per_step, images, labels, data, cfg))
    return Curve(system, _recipe(cfg), points)


def _peer_curve(cfg: RunConfig, times_of: list[Point], data: Mnist, labels: Tensor, device: torch.device,
                progress: bool) -> Curve:
    """diffusers' UNet2DModel trained as its examples do, judged at the seconds the first baseline was judged at
    (the same network and steps: where one is faster per step, the other has taken fewer steps by then)."""
    budgets = tuple(p.seconds for p in times_of[:-1])
    peer = train_peer(cfg, data, device, snapshot_at_s=budgets, progress=progress)
    seconds_per_step = peer.seconds / peer.steps
    judged: list[tuple[int, nn.Module]] = [peer.snapshots[s] for s in budgets] + [(peer.steps, peer.model)]
    points = []
    for step, model in judged:
        images, _ = sample_peer_as_shipped(model, cfg, labels, NOISE_SEED)
        points.append(_point(step, step * seconds_per_step, images, labels, data, cfg))
    return Curve("diffusers peer", "diffusers UNet2DModel + DDPMScheduler/DDIMScheduler, " + _recipe(cfg), points)


def _point(step: int, seconds: float, images: Tensor, labels: Tensor, data: Mnist, cfg: RunConfig) -> Point:
    quality = judge(images, labels, data, cfg)
    return Point(step, seconds, quality.class_acc, quality.fid)


def _recipe(cfg: RunConfig) -> str:
    d, tc, s = cfg.diffusion, cfg.train, cfg.sample
    process = "flow matching" if d.formulation == "flow" else f"{d.formulation} {d.schedule} {d.prediction}"
    return (f"`{cfg.preset}`: {process}, {tc.steps} x {tc.batch_size}, lr {tc.lr:g}; {s.sampler} {s.steps} steps, "
            f"w = {s.guidance:g}")


def equal_quality(curves: list[Curve]) -> list[tuple[str, float | None, float]]:
    """Per other system: (name, training seconds of its first judged point recognised at least as often as the
    current baseline's final weights, or None when none was; the longest seconds it was judged at)."""
    target = curves[0].points[-1].class_acc
    return [(c.system, next((p.seconds for p in c.points if p.class_acc >= target), None), c.points[-1].seconds)
            for c in curves[1:]]


def time_lines(path: Path) -> list[str]:
    """The markdown of a time_to_quality.json: the table of every judged point and the ratio to equal quality."""
    record = json.loads(path.read_text())
    curves = [Curve(c["system"], c["recipe"], [Point(**p) for p in c["points"]]) for c in record["curves"]]
    rows = [[c.system, str(p.step), f"{p.seconds:.1f}", f"{p.class_acc:.1%}", f"{p.fid:.1f}"]
            for c in curves for p in c.points]
    mine = curves[0].points[-1]
    lines = [f"Each system trained once by `{record['command']}` on {record['machine']} ({record['minutes']:.1f} min "
             f"in all); {record['digits']} digits judged per point, from the same noise, by the reference classifier "
             f"(recognised) and in its feature space against the 10k test digits (FID). Points before the last are "
             f"the EMA weights kept part-way through one run, whose learning rate had not yet decayed.", ""]
    lines += [f"- {c.system}: {c.recipe}" for c in curves] + [""]
    lines += markdown_table(["system", "step", "training s", "recognised", "FID"], rows) + [""]
    lines.append(f"Training time to the current baseline's final quality ({mine.class_acc:.1%} recognised after "
                 f"{mine.seconds:.1f} s), read at the judged points:")
    for system, seconds, longest in equal_quality(curves):
        lines.append(f"- {system}: " + (f"{seconds:.1f} s, {seconds / mine.seconds:.1f}x" if seconds is not None else
                                        f"not reached in {longest:.1f} s, more than {longest / mine.seconds:.1f}x"))
    return lines + ["", "![Recognised share and FID against training seconds](time_to_quality.png)"]


def plot(curves: list[Curve], path: Path) -> Path:
    """Recognised share and FID (log scale) against training seconds, one line per system."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    panels: list[tuple[str, Callable[[Point], float]]] = [("recognised (%)", lambda p: 100 * p.class_acc),
                                                           ("FID (classifier features)", lambda p: p.fid)]
    for ax, (label, value) in zip(axes, panels, strict=True):
        for c in curves:
            ax.plot([p.seconds for p in c.points], [value(p) for p in c.points], marker="o", label=c.system)
        ax.set_xlabel("training seconds")
        ax.set_ylabel(label)
    axes[1].set_yscale("log")
    axes[0].legend()
    return save_figure(fig, path)
