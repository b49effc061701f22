"""The side-by-side table of `harness peers`: each measure for both systems, their ratio against its target,
and the markdown around it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import pandas as pd
import torch

from ..._util import CPU_EVAL_BATCH, machine, markdown_table
from ...config import FULL_INTERVAL, RunConfig
from ...core import Diffusion
from ...runs import grid_labels, network_passes
from ._judging import Quality

TRAIN_TARGET = 1.5  # the harness's training images/s over the peer's, at least
SAMPLE_TARGET = 2.0  # the same for sampling images/s at equal steps and guidance
LIMITED = "harness, guidance interval"  # the name of the harness's draw guided only in an interval
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


def side_by_side(cfg: RunConfig, ours_train: float, peer_train: float, ours_params: int, peer_params: int,
                 gflop: tuple[float, float], val_mse: dict[str, float], judged: dict[str, Judged],
                 speeds: Speeds, snap_steps: int) -> pd.DataFrame:
    """One row per measure: the harness's figure, the peer's, the target ratio (throughput rows) and the ratio."""
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
    diffusion = Diffusion(cfg.diffusion)
    return (f"the harness {guiding_only(interval)} (sample.guidance_interval: "
            f"{network_passes(limited, diffusion)} network passes per digit, not {network_passes(every, diffusion)})")


def peers_markdown(table: pd.DataFrame, cfg: RunConfig, budget: str, device: torch.device, wall: float,
                   snap_steps: int, minutes: float, rounds: int) -> str:
    """peers.md: how both systems were trained, sampled and judged, the table, and what each kind of row means."""
    lines = ["# The harness against diffusers, side by side", "",
             f"Measured on {machine(device)} by `harness peers --budget {budget}` (`make bench-peers`) in "
             f"{minutes:.1f} min. Both train the baseline U-Net of the `{budget}` budget (channels "
             f"{list(cfg.model.channels)}, {cfg.model.blocks_per_level} block per level, embedding {cfg.model.embed_dim}, "
             f"{cfg.diffusion.schedule} schedule, T = {cfg.diffusion.timesteps}, predicting {cfg.diffusion.prediction}) "
             f"from the same seed on the same batches, "
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
              f"default) in this process, whose C allocator keeps freed memory as every `harness` command's does (docs/runs.md, "
              f"'Speed settings and memory'); diffusers' pipelines make one call per step, drawn in a fresh interpreter at the C "
              f"library's own malloc settings, as a diffusers user's script runs. The 'both in network calls' "
              f"rows draw one batch of {cfg.sample.batch_size} with the peer split the same way, like for like, "
              f"{rounds} times each with the systems taking turns; images/s are the medians. Both run in this one "
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

    rows = [[r["measure"], _fmt(r["harness"]), _fmt(r["diffusers"]), f"{r['ratio']:.2f}x", verdict(r)]
            for _, r in table.iterrows()]
    return markdown_table(["measure", "harness", "diffusers", "harness / diffusers", "target"], rows)


def _fmt(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.3g}"

