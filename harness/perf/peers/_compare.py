"""`harness peers`: the harness and diffusers trained and sampled side by side on one machine, in one run."""

from __future__ import annotations

import statistics
import tempfile
import time
from dataclasses import asdict, replace
from pathlib import Path

import torch
from torch import Tensor, nn
from torch.utils.flop_counter import FlopCounterMode

from ..._util import (
    RESULTS,
    eval_batch,
    keep_freed_memory,
    machine,
    native_bf16,
    perf_dir,
    resolve_device,
    write_json,
    write_text,
)
from ...config import FULL_INTERVAL, RunConfig, resolve_config
from ...data import Mnist, load_mnist
from ...metrics import timed, timed_generate
from ...nn import count_parameters
from ...runs import TrainedModel, Validator, generate, grid_labels, load_trained, train
from ._diffusers import PEER_PRESET, PeerNetwork, peer_schedulers
from ._judging import NOISE_SEED, judge, judged_noise
from ._sample import sample_peer, sample_peer_as_shipped
from ._table import LIMITED, BatchSpeeds, Judged, Speeds, peers_markdown, side_by_side
from ._train import train_peer

# the harness's second judged draw guides only where t/T lies in this interval (sample.guidance_interval);
# ablations/guidance_interval.yaml measures its accuracy and FID against guidance at every step over 3 seeds
GUIDANCE_INTERVAL = (0.2, 0.8)
PEERS_FILE = "peers.json"  # in results/perf/: the table's rows with the machine and the command (the perf report's input)
LIKE_ROUNDS = 3  # like-for-like draws per system, taking turns: one draw each swung the ratio by 30% between runs


def run_peers(budget: str = "quick", results: Path = RESULTS, progress: bool = True,
              compiled: bool = True, interval: tuple[float, ...] | None = GUIDANCE_INTERVAL) -> Path:
    """Train the baseline at `budget` with the harness and as diffusers' UNet2DModel + schedulers, time both,
    judge both (and, when `compiled`, time both sampling under torch.compile; with an `interval`, the harness
    also guiding only there); write results/perf/peers.md and peers.csv and return the former."""
    keep_freed_memory()  # as `harness` runs (already set there; called from Python it was not): peers.md says so
    cfg = resolve_config(PEER_PRESET, budget)
    # a bad interval fails here (SampleConfig's check), not after the trainings
    limited = replace(cfg, sample=replace(cfg.sample, guidance_interval=interval)) if interval is not None else None
    _, ddim = peer_schedulers(cfg)  # without diffusers this fails now, not after the harness's training
    device = resolve_device(cfg.train.device)
    data = load_mnist(cfg.data)
    out = perf_dir(results)
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="harness-peer-") as tmp:  # a fresh run: a finished one would not be timed
        ours_run = train(cfg, Path(tmp), progress, grid=False)
        ours = load_trained(Path(tmp), device=device)
    wall = cfg.train.steps * cfg.train.batch_size / ours_run.images_per_s  # the harness's step time
    peer = train_peer(cfg, data, device, snapshot_at_s=(wall,), progress=progress)
    labels = grid_labels(cfg.eval.samples_per_class)
    ours_images, ours_speed = timed_generate(ours.model, ours.diffusion, cfg, labels, judged_noise(device))
    judged = {"harness": _judge(ours_images, ours_speed.images_per_s, labels, data, cfg, out / "peers_harness.png")}
    if limited is not None:
        images, speed = timed_generate(ours.model, ours.diffusion, limited, labels, judged_noise(device))
        judged[LIMITED] = _judge(images, speed.images_per_s, labels, data, cfg, None)
    judged["diffusers"] = _judge_peer(peer.model, cfg, labels, data, out / "peers_diffusers.png")
    snap_steps, snap_model = peer.snapshots[wall]
    finished = snap_steps == peer.steps  # the peer's last weights are also its weights at the harness's time
    judged["diffusers, equal wall time"] = (judged["diffusers"] if finished else
                                            _judge_peer(snap_model, cfg, labels, data, None))
    split = eval_batch(cfg.sample.eval_batch, device)
    one_batch = labels[:cfg.sample.batch_size]
    like_speeds = _batch_speeds(ours, peer.model, ddim, cfg, one_batch, device, split, interval=interval) if split else None
    compiled_speeds = (_batch_speeds(ours, peer.model, ddim, cfg, one_batch, device, split, compile=True)
                       if compiled else None)
    bf16_speeds = (_batch_speeds(ours, peer.model, ddim, cfg, one_batch, device, split, precision="bf16")
                   if split and native_bf16(device) else None)
    peer_network = PeerNetwork(peer.model)
    validate = Validator(data.val, cfg.train.val_images, ours.diffusion, cfg.data.pad_to_32, device)
    val_mse = {"harness": validate(ours.model, precision=None), "diffusers": validate(peer_network, precision=None)}
    val_mse["diffusers, equal wall time"] = (val_mse["diffusers"] if finished else
                                             validate(PeerNetwork(snap_model), precision=None))
    gflop = (_gflop_per_image(ours.model, cfg, device), _gflop_per_image(peer_network, cfg, device))
    table = side_by_side(cfg, ours_run.images_per_s, peer.images_per_s, count_parameters(ours.model), peer.parameters,
                         gflop, val_mse, judged, Speeds(split, like_speeds, compiled_speeds, bf16_speeds, interval),
                         snap_steps)
    minutes = (time.monotonic() - started) / 60
    write_text(out / "peers.csv", table.to_csv(index=False))
    write_json(out / PEERS_FILE, {"budget": budget, "machine": machine(device), "command": f"harness peers --budget {budget}",
                                  "minutes": minutes, "rows": table.to_dict("records")})
    path = out / "peers.md"
    write_text(path, peers_markdown(table, cfg, budget, device, wall, snap_steps, minutes, LIKE_ROUNDS))
    return path


def _judge_peer(model: nn.Module, cfg: RunConfig, labels: Tensor, data: Mnist, grid: Path | None) -> Judged:
    images, seconds = sample_peer_as_shipped(model, cfg, labels, NOISE_SEED)
    return _judge(images, len(labels) / seconds, labels, data, cfg, grid)


def _judge(images: Tensor, images_per_s: float, labels: Tensor, data: Mnist, cfg: RunConfig,
           grid: Path | None) -> Judged:
    return Judged(**asdict(judge(images, labels, data, cfg, grid)), images_per_s=images_per_s)


def _batch_speeds(ours: TrainedModel, peer: nn.Module, ddim: object, cfg: RunConfig, labels: Tensor,
                  device: torch.device, split: int | None, compile: bool = False, precision: str = "fp32",
                  interval: tuple[float, ...] | None = None) -> BatchSpeeds:
    """Per system, both in network calls of at most `split` images and in `precision` (like for like), LIKE_ROUNDS
    draws of `labels` with the systems taking turns, so a drift in the machine's speed reaches both; under
    `compile` a first draw each compiles the network before the rounds. With an `interval`, the harness guiding
    only there (LIMITED) takes its turn too. Per system: (seconds of its first draw, median images/s)."""
    sample = replace(cfg.sample, compile=compile, eval_batch=split or 0, precision=precision,
                     guidance_interval=FULL_INTERVAL)  # as diffusers guides: at every step
    size = cfg.data.image_size
    draws = {"harness": lambda: generate(ours.model, ours.diffusion, sample, labels, size, judged_noise(device)),
             "diffusers": lambda: sample_peer(peer, ddim, sample, labels, size, judged_noise(device), split)}
    if interval is not None:
        limited = replace(sample, guidance_interval=interval)
        draws[LIMITED] = lambda: generate(ours.model, ours.diffusion, limited, labels, size, judged_noise(device))
    compiling = {name: timed(device, draw)[1] for name, draw in draws.items()} if compile else {}
    seconds: dict[str, list[float]] = {name: [] for name in draws}
    for _ in range(LIKE_ROUNDS):
        for name, draw in draws.items():
            seconds[name].append(timed(device, draw)[1])
    return {name: (compiling.get(name, s[0]), len(labels) / statistics.median(s)) for name, s in seconds.items()}


@torch.inference_mode()
def _gflop_per_image(network: nn.Module, cfg: RunConfig, device: torch.device) -> float:
    """GFLOPs of one network evaluation of one image (convolutions and matmuls, counted by torch)."""
    size = cfg.data.image_size
    t = torch.zeros(1, dtype=torch.long, device=device)
    with FlopCounterMode(display=False) as counter:
        network(torch.zeros(1, 1, size, size, device=device), t, t)  # (1, 1, H, W), t = 0, digit 0
    return counter.get_total_flops() / 1e9
