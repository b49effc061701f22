"""`harness peers`: the harness and diffusers trained and sampled side by side on one machine, in one run."""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import pandas as pd
import torch
from torch import Tensor, nn
from torch.utils.flop_counter import FlopCounterMode

from ..allocator import keep_freed_memory
from ..checkpoint import TrainedModel, load_trained
from ..config import FULL_INTERVAL, RunConfig
from ..data import Mnist, load_mnist
from ..devices import CPU_EVAL_BATCH, eval_batch, machine, native_bf16, resolve_device
from ..files import write_json, write_text
from ..generate import generate, grid_labels, network_passes
from ..metrics.speed import timed, timed_generate
from ..presets import resolve_config
from ..train import Validator, train
from ..unet import count_parameters
from ._diffusers import PeerNetwork, peer_schedulers
from ._judging import Quality, judge
from ._sample import sample_peer, sample_peer_as_shipped
from ._train import train_peer

TRAIN_TARGET = 1.5  # the harness's training images/s over the peer's, at least
SAMPLE_TARGET = 2.0  # the same for sampling images/s at equal steps and guidance
NOISE_SEED = 0  # both systems' draws start from the same noise
# the harness's second judged draw guides only where t/T lies in this interval (sample.guidance_interval);
# ablations/guidance_interval.yaml measures its accuracy and FID against guidance at every step over 3 seeds
GUIDANCE_INTERVAL = (0.2, 0.8)
LIMITED = "harness, guidance interval"  # that draw's system name
PEERS_FILE = "peers.json"  # in results/perf/: the table's rows with the machine and the command (the perf report's input)


LIKE_ROUNDS = 3  # like-for-like draws per system, taking turns: one draw each swung the ratio by 30% between runs
BatchSpeeds = dict[str, tuple[float, float]]  # system -> (seconds of its first draw, median images/s of the rounds)


@dataclass(frozen=True)
class Speeds:
    """One batch drawn by both systems in network calls of the same size, besides the judged (as shipped) draws."""

    split: int | None  # images per network call (devices.eval_batch); None: one call, as diffusers' pipelines
    eager: BatchSpeeds | None  # eager, like for like; None when `split` is None (the judged draws already are)
    compiled: BatchSpeeds | None  # under sample.compile=true; None when not asked for
    bf16: BatchSpeeds | None = None  # eager under sample.precision=bf16; None without native bf16 (devices)
    interval: tuple[float, ...] | None = None  # the harness's limited guidance (LIMITED); None: not drawn


@dataclass(frozen=True)
class Judged(Quality):
    """A draw's judged quality and the sampling throughput it was drawn at."""

    images_per_s: float  # sampling throughput of these digits


def run_peers(budget: str = "quick", results: Path = Path("results"), progress: bool = True,
              compiled: bool = True, interval: tuple[float, ...] | None = GUIDANCE_INTERVAL) -> Path:
    """Train the baseline at `budget` with the harness and as diffusers' UNet2DModel + schedulers, time both,
    judge both (and, when `compiled`, time both sampling under torch.compile; with an `interval`, the harness
    also guiding only there); write results/perf/peers.md and peers.csv and return the former."""
    keep_freed_memory()  # as `harness` runs (already set there; called from Python it was not): peers.md says so
    cfg = resolve_config("baseline", budget)
    # a bad interval fails here (SampleConfig's check), not after the trainings
    limited = replace(cfg, sample=replace(cfg.sample, guidance_interval=interval)) if interval is not None else None
    _, ddim = peer_schedulers(cfg)  # without diffusers this fails now, not after the harness's training
    device = resolve_device(cfg.train.device)
    data = load_mnist(cfg.data)
    out = results / "perf"
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="harness-peer-") as tmp:  # a fresh run: a finished one would not be timed
        ours_run = train(cfg, Path(tmp), progress, grid=False)
        ours = load_trained(Path(tmp), device=device)
    wall = cfg.train.steps * cfg.train.batch_size / ours_run.images_per_s  # the harness's step time
    peer = train_peer(cfg, data, device, snapshot_at_s=(wall,), progress=progress)
    labels = grid_labels(cfg.eval.samples_per_class)
    ours_images, ours_speed = timed_generate(ours.model, ours.diffusion, cfg, labels, _generator(device))
    judged = {"harness": _judge(ours_images, ours_speed.images_per_s, labels, data, cfg, out / "peers_harness.png")}
    if limited is not None:
        images, speed = timed_generate(ours.model, ours.diffusion, limited, labels, _generator(device))
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
    val_mse = {"harness": validate(ours.model, amp=False), "diffusers": validate(peer_network, amp=False)}
    val_mse["diffusers, equal wall time"] = (val_mse["diffusers"] if finished else
                                             validate(PeerNetwork(snap_model), amp=False))
    gflop = (_gflop_per_image(ours.model, cfg, device), _gflop_per_image(peer_network, cfg, device))
    table = _table(cfg, ours_run.images_per_s, peer.images_per_s, count_parameters(ours.model), peer.parameters,
                   gflop, val_mse, judged, Speeds(split, like_speeds, compiled_speeds, bf16_speeds, interval), snap_steps)
    minutes = (time.monotonic() - started) / 60
    write_text(out / "peers.csv", table.to_csv(index=False))
    write_json(out / PEERS_FILE, {"budget": budget, "machine": machine(device), "command": f"harness peers --budget {budget}",
                                  "minutes": minutes, "rows": table.to_dict("records")})
    path = out / "peers.md"
    write_text(path, _markdown(table, cfg, budget, device, wall, snap_steps, minutes))
    return path


def _generator(device: torch.device) -> torch.Generator:
    return torch.Generator(device=device).manual_seed(NOISE_SEED)


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
    draws = {"harness": lambda: generate(ours.model, ours.diffusion, sample, labels, size, _generator(device)),
             "diffusers": lambda: sample_peer(peer, ddim, sample, labels, size, _generator(device), split)}
    if interval is not None:
        limited = replace(sample, guidance_interval=interval)
        draws[LIMITED] = lambda: generate(ours.model, ours.diffusion, limited, labels, size, _generator(device))
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


def _table(cfg: RunConfig, ours_train: float, peer_train: float, ours_params: int, peer_params: int,
           gflop: tuple[float, float], val_mse: dict[str, float], judged: dict[str, Judged],
           speeds: Speeds, snap_steps: int) -> pd.DataFrame:
    s = cfg.sample
    sampling = f"sampling images/s (DDIM {s.steps} steps, w = {s.guidance:g}, batch {s.batch_size}"
    calls = f"network calls of {speeds.split}" if speeds.split else "one network call per step"
    h, p, w = judged["harness"], judged["diffusers"], judged["diffusers, equal wall time"]
    val = f"validation MSE of eps, EMA weights ({cfg.train.val_images} digits, fixed t and noise)"
    rows = [
        ("parameters", ours_params, peer_params, None),
        ("GFLOP per network evaluation of one image", *gflop, None),
        (f"training images/s ({cfg.train.steps} steps of batch {cfg.train.batch_size}, same batches and draws)",
         ours_train, peer_train, TRAIN_TARGET),
        (f"{sampling}; eager, as each ships: the harness in {calls}, diffusers' pipelines one call per step in a fresh process)",
         h.images_per_s, p.images_per_s, SAMPLE_TARGET),
        *_speed_rows(f"{sampling}; both in {calls}", speeds),
        *_limited_speed_rows(cfg, sampling, calls, judged, speeds),
        (f"{val}, equal steps", val_mse["harness"], val_mse["diffusers"], None),
        (f"{val}, equal wall time (peer after {snap_steps} steps)", val_mse["harness"],
         val_mse["diffusers, equal wall time"], None),
        ("classifier accuracy, equal steps", h.class_acc, p.class_acc, None),
        ("FID (classifier features), equal steps", h.fid, p.fid, None),
        *_limited_quality_rows(cfg, judged, speeds.interval),
        (f"classifier accuracy, equal wall time (peer after {snap_steps} steps)", h.class_acc, w.class_acc, None),
        (f"FID (classifier features), equal wall time (peer after {snap_steps} steps)", h.fid, w.fid, None),
    ]
    table = pd.DataFrame(rows, columns=["measure", "harness", "diffusers", "target_ratio"])
    table["ratio"] = table["harness"] / table["diffusers"]
    return table


def _speed_rows(sampling: str, speeds: Speeds) -> list[tuple]:
    """The like-for-like rows: eager in fp32 and in bf16, and under torch.compile with the seconds of its
    compiling first call."""
    rows = []
    if speeds.eager:
        rows.append((f"{sampling}, eager: like for like)", speeds.eager["harness"][1], speeds.eager["diffusers"][1],
                     SAMPLE_TARGET))
    if speeds.bf16:
        rows.append((f"{sampling}, eager, both under bf16 autocast (sample.precision=bf16): like for like)",
                     speeds.bf16["harness"][1], speeds.bf16["diffusers"][1], SAMPLE_TARGET))
    if speeds.compiled:
        (ours_first, ours_fast), (peer_first, peer_fast) = speeds.compiled["harness"], speeds.compiled["diffusers"]
        rows += [(f"{sampling}, under torch.compile after its first call)", ours_fast, peer_fast, SAMPLE_TARGET),
                 ("seconds of the first sampling call under torch.compile (compiles, then draws one batch)",
                  ours_first, peer_first, None)]
    return rows


def _limited_speed_rows(cfg: RunConfig, sampling: str, calls: str, judged: dict[str, Judged],
                        speeds: Speeds) -> list[tuple]:
    """The harness guiding only in `speeds.interval` against the peer guiding every step: as each ships (the
    judged draws), and in network calls of the same size."""
    if speeds.interval is None:
        return []
    limited = _limited_label(cfg, speeds.interval)
    rows = [(f"{sampling}; eager, as each ships, {limited}, diffusers guiding every step)",
             judged[LIMITED].images_per_s, judged["diffusers"].images_per_s, SAMPLE_TARGET)]
    if speeds.eager and LIMITED in speeds.eager:
        rows.append((f"{sampling}; both in {calls}, eager, {limited}: like for like but for the interval)",
                     speeds.eager[LIMITED][1], speeds.eager["diffusers"][1], SAMPLE_TARGET))
    return rows


def _limited_quality_rows(cfg: RunConfig, judged: dict[str, Judged], interval: tuple[float, ...] | None) -> list[tuple]:
    """Accuracy and FID of the harness's draw guided only in `interval`, against the peer's at every step."""
    if interval is None:
        return []
    limited, peer = judged[LIMITED], judged["diffusers"]
    where = f"equal steps, {_limited_label(cfg, interval)}"
    return [(f"classifier accuracy, {where}", limited.class_acc, peer.class_acc, None),
            (f"FID (classifier features), {where}", limited.fid, peer.fid, None)]


def guiding_only(interval: Sequence[float]) -> str:
    """'guiding only at t/T in [lo, hi]': how every peers table names a draw guided in `interval`."""
    return "guiding only at t/T in [{:g}, {:g}]".format(*interval)


def _limited_label(cfg: RunConfig, interval: tuple[float, ...]) -> str:
    limited = replace(cfg.sample, guidance_interval=interval)
    every = replace(cfg.sample, guidance_interval=FULL_INTERVAL)
    T = cfg.diffusion.timesteps
    return (f"the harness {guiding_only(interval)} (sample.guidance_interval: "
            f"{network_passes(limited, T)} network passes per digit, not {network_passes(every, T)})")


def _markdown(table: pd.DataFrame, cfg: RunConfig, budget: str, device: torch.device, wall: float, snap_steps: int,
              minutes: float) -> str:
    lines = ["# The harness against diffusers, side by side", "",
             f"Measured on {machine(device)} by `harness peers --budget {budget}` (`make bench-peers`) in "
             f"{minutes:.1f} min. Both train the baseline U-Net of the `{budget}` budget (channels "
             f"{list(cfg.model.channels)}, {cfg.model.blocks_per_level} block per level, embedding {cfg.model.embed_dim}, "
             f"{cfg.diffusion.schedule} schedule, T = {cfg.diffusion.timesteps}) from the same seed on the same batches, "
             f"timesteps and noise, with the same AdamW settings, warm-up and decay, clipping, label dropout and EMA. "
             f"The peer is diffusers' `UNet2DModel` trained with `DDPMScheduler.add_noise` and sampled with "
             f"`DDIMScheduler` ('trailing' spacing) and guidance's two passes batched, as diffusers' pipelines do. "
             f"Both are judged on {len(grid_labels(cfg.eval.samples_per_class))} digits drawn from the same noise "
             f"by the reference classifier (accuracy) and FID in its feature space. 'Equal wall time' judges the "
             f"peer's EMA weights at the moment its step time reached the harness's ({wall:.0f} s): step "
             f"{snap_steps} of {cfg.train.steps}.", "",
             *peers_table(table)]
    lines += ["", f"The 'as each ships' row draws all the judged digits: the harness splits a guided step's "
              f"{2 * cfg.sample.batch_size} images into network calls of `sample.eval_batch` (on a CPU {CPU_EVAL_BATCH} by "
              f"default) in this process, whose C allocator keeps freed memory as every `harness` command's does (README, "
              f"'Memory on CPU'); diffusers' pipelines make one call per step, drawn in a fresh interpreter at the C "
              f"library's own malloc settings, as a diffusers user's script runs. The 'both in network calls' "
              f"rows draw one batch of {cfg.sample.batch_size} with the peer split the same way, like for like, "
              f"{LIKE_ROUNDS} times each with the systems taking turns; images/s are the medians. Both run in this one "
              f"process, so neither pays page faults the other does not."]
    if table["measure"].str.contains("sample.guidance_interval").any():
        lines += ["", "The rows 'guiding only at t/T in [lo, hi]' draw the same digits with guidance limited to part of "
                  "the reverse process (Kynkäänniemi et al. 2024): the other steps run the conditional pass alone, "
                  "so fewer images go through the network. 'At equal quality' is read from their accuracy and FID rows "
                  "beside the peer's, one trained pair each; `make bench-peers-quality` judges both over training seeds, "
                  "and `make ablate STUDY=guidance_interval` measures the interval against guidance at every step "
                  "over 3 seeds. The peer guides at every step, as diffusers' pipelines do."]
    if table["measure"].str.contains("torch.compile").any():
        lines += ["", "The torch.compile rows draw that batch with `sample.compile=true` (inductor, one compile for "
                  "every batch size): a first call compiles the network and its seconds are listed; the rounds follow."]
    if table["measure"].str.contains("bf16").any():
        lines += ["", "The bf16 row draws that batch with both networks under bfloat16 autocast (`sample.precision=bf16`, "
                  "offered where the processor has native bf16: AVX512-BF16 or AMX), guidance combined in fp32. Its "
                  "effect on quality is measured by `make ablate STUDY=precision`; the judged draws above are fp32."]
    lines += ["", "Lower MSE and FID are better, so there a ratio below 1 favours the harness. Samples: `peers_harness.png`, "
              "`peers_diffusers.png` (one row per digit). Numbers: `peers.csv`.", ""]
    return "\n".join(lines)


def peers_table(table: pd.DataFrame) -> list[str]:
    """Markdown: each measure for both systems, their ratio and, for throughput, the target's verdict."""
    def verdict(r: pd.Series) -> str:
        if pd.isna(r["target_ratio"]):
            return ""
        return f"{'met' if r['ratio'] >= r['target_ratio'] else 'NOT met'} (target >= {r['target_ratio']:g}x)"

    lines = ["| measure | harness | diffusers | harness / diffusers | target |", "|---|---|---|---|---|"]
    for _, r in table.iterrows():
        lines.append(f"| {r['measure']} | {_fmt(r['harness'])} | {_fmt(r['diffusers'])} | {r['ratio']:.2f}x | "
                     f"{verdict(r)} |")
    return lines


def _fmt(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.3g}"

