"""`harness peers-quality`: the harness's and the peer's judged quality over several training seeds, paired by seed.

`harness peers` judges one trained pair, and FID alone moves by about +-20 between seeds at 500 digits. Whether the
peer's digits are better, and so whether the harness's sampling speed-up holds at the peer's quality, is a question
over seeds. Each seed trains the peer on the harness's batches, timesteps and noise of that seed; the harness's
network is the shared run of the same config (results/runs/<hash>), trained once and reused by every study. Within a
seed, every system draws its digits from the same noise, so a per-seed difference is paired.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, replace
from pathlib import Path

import pandas as pd
import torch
from torch import Tensor

from ..._util import (
    RESULTS,
    ConfigError,
    eval_batch,
    folder_lock,
    interval_text,
    machine,
    markdown_table,
    mean_ci95,
    perf_dir,
    resolve_device,
    write_json,
    write_text,
)
from ...config import RunConfig, SampleConfig, config_hash, resolve_config
from ...data import Mnist, load_mnist
from ...runs import generate, grid_labels, load_trained, train
from ...studies import shared_run_dir
from ._compare import GUIDANCE_INTERVAL
from ._diffusers import PEER_PRESET, peer_schedulers
from ._judging import JUDGED, judge
from ._sample import sample_peer
from ._table import LIMITED, guiding_only
from ._train import train_peer

QUALITY_FOLDER = "peers_quality"  # in results/perf/: one record per seed, so a rerun with more seeds reuses them
QUALITY_FILE = "peers_quality.json"  # in results/perf/: the table, machine and command (the perf report's input)
PER_CLASS = 50  # digits of each class judged per seed, as ablations/guidance_interval.yaml judges
PEER = "diffusers"
LOWER_IS_BETTER = {"class_acc": False, "fid": True}
METRIC_NAMES = {"class_acc": "classifier accuracy", "fid": "FID (classifier features)"}
Draw = Callable[[torch.Generator], Tensor]  # a system's digits for the seed's labels from this noise


def run_peer_quality(budget: str = "quick", seeds: Sequence[int] = (0, 1, 2), results: Path = RESULTS,
                     per_class: int = PER_CLASS, interval: tuple[float, ...] | None = GUIDANCE_INTERVAL,
                     progress: bool = True) -> Path:
    """Judge the harness (guiding every step and, with an `interval`, only there) and the peer for each seed;
    write results/perf/peers_quality.{md,csv,json} and return the first."""
    seeds = list(seeds)
    if not seeds or len(set(seeds)) != len(seeds):
        raise ConfigError(f"--seeds needs one or more distinct training seeds, e.g. 0 1 2 (got {seeds})")
    if per_class < 1:
        raise ConfigError(f"--per-class is the digits of each class judged per seed: a positive whole number (got {per_class})")
    base = resolve_config(PEER_PRESET, budget)
    cfg = replace(base, eval=replace(base.eval, samples_per_class=per_class))
    # a bad interval fails here (SampleConfig's check), not after a training
    limited = None if interval is None else replace(cfg.sample, guidance_interval=interval)
    peer_schedulers(cfg)  # without diffusers this fails now, not after the harness's training
    perf = perf_dir(results)
    (perf / QUALITY_FOLDER).mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    paths = {seed: _record_path(results, cfg, seed, interval) for seed in seeds}
    drawn = [seed for seed, path in paths.items() if not path.is_file()]
    if drawn:
        data = load_mnist(cfg.data)
        for seed in drawn:
            _draw_seed(base, cfg, seed, limited, data, results, progress, paths[seed])
    records = [json.loads(path.read_text()) for path in paths.values()]  # in the order of `seeds`
    table = quality_table(records)
    minutes = (time.monotonic() - started) / 60
    device = resolve_device(cfg.train.device)
    command = f"harness peers-quality --budget {budget} --seeds {' '.join(map(str, seeds))} --per-class {per_class}"
    write_text(perf / "peers_quality.csv", table.to_csv(index=False))
    write_json(perf / QUALITY_FILE, {"budget": budget, "machine": machine(device), "command": command, "minutes": minutes,
                                     "drawn": drawn, "per_class": per_class, "records": records, "rows": table.to_dict("records")})
    path = perf / "peers_quality.md"
    write_text(path, _markdown(table, records, cfg, budget, machine(device), command, run_time(minutes, drawn)))
    return path


def _draw_seed(base: RunConfig, cfg: RunConfig, seed: int, limited: SampleConfig | None, data: Mnist, results: Path,
               progress: bool, path: Path) -> None:
    """Train (or reuse) both networks of one seed, judge each system's digits (the harness guiding every step and,
    with `limited`, only in its interval) and write the record to `path`."""
    device = resolve_device(cfg.train.device)
    run_dir = shared_run_dir(results, _with_seed(base, seed))
    with folder_lock(run_dir, "harness peers-quality"):  # a study's worker may be training the same run
        train(_with_seed(base, seed), run_dir, progress)  # returns at once where that run is already finished
        ours = load_trained(run_dir, device=device)
    seeded = _with_seed(cfg, seed)
    peer = train_peer(seeded, data, device, progress=progress).model
    labels, size = grid_labels(cfg.eval.samples_per_class), cfg.data.image_size
    _, ddim = peer_schedulers(cfg)
    draws: dict[str, Draw] = {"harness": lambda g: generate(ours.model, ours.diffusion, cfg.sample, labels, size, g)}
    if limited is not None:
        draws[LIMITED] = lambda g: generate(ours.model, ours.diffusion, limited, labels, size, g)
    draws[PEER] = lambda g: sample_peer(peer, ddim, cfg.sample, labels, size, g, eval_batch(cfg.sample.eval_batch, device))
    systems = {}
    for name, draw in draws.items():
        noise = torch.Generator(device=device).manual_seed(seed)  # every system from the same noise
        systems[name] = asdict(judge(draw(noise), labels, data, cfg))
    interval = None if limited is None else list(limited.guidance_interval)
    record = {"seed": seed, "config_hash": config_hash(seeded), "interval": interval, "digits": len(labels),
              "systems": systems}
    write_json(path, record)


def _record_path(results: Path, cfg: RunConfig, seed: int, interval: tuple[float, ...] | None) -> Path:
    """Where one seed's figures are kept: named by the config (digits judged included) and the interval."""
    tag = "every-step" if interval is None else "interval-{:g}-{:g}".format(*interval)
    return perf_dir(results) / QUALITY_FOLDER / f"seed{seed}-{config_hash(_with_seed(cfg, seed))}-{tag}.json"


def _with_seed(cfg: RunConfig, seed: int) -> RunConfig:
    return replace(cfg, train=replace(cfg.train, seed=seed))


def quality_table(records: list[dict]) -> pd.DataFrame:
    """Per harness system and metric: both systems' means over seeds with 95% CIs, the mean paired difference
    (harness - peer) with its CI, and which system the difference shows better, if any."""
    rows = []
    for system in [s for s in records[0]["systems"] if s != PEER]:
        for metric in sorted(JUDGED):
            ours = [r["systems"][system][metric] for r in records]
            peer = [r["systems"][PEER][metric] for r in records]
            diff = mean_ci95([a - b for a, b in zip(ours, peer)])
            rows.append({"system": system, "metric": metric, "seeds": len(records),
                         **_named("harness", mean_ci95(ours)), **_named(PEER, mean_ci95(peer)),
                         **_named("difference", diff), "verdict": verdict(*diff[1:], LOWER_IS_BETTER[metric])})
    return pd.DataFrame(rows)


def _named(prefix: str, mean_low_high: tuple[float, float, float]) -> dict[str, float]:
    return dict(zip((prefix, f"{prefix}_low", f"{prefix}_high"), mean_low_high))


def verdict(low: float, high: float, lower_is_better: bool) -> str:
    """What a 95% CI of the paired difference (harness - peer) shows."""
    if math.isnan(low):
        return "one seed: no interval, run more seeds"
    if (low > 0) if lower_is_better else (high < 0):
        return "the peer better (shown)"
    if (high < 0) if lower_is_better else (low > 0):
        return "the harness better (shown)"
    return "no difference shown"


def run_time(minutes: float, drawn: list[int]) -> str:
    """'in M min, drawing seeds ...': the run's time covers only the seeds it drew, not those read back."""
    what = f"drawing seed{'s' * (len(drawn) != 1)} {', '.join(map(str, drawn))}" if drawn else "drawing none"
    return f"in {minutes:.1f} min, {what} (any other seed read back from `{QUALITY_FOLDER}/`, recorded by an earlier run)"


def quality_lines(table: pd.DataFrame, interval: list[float] | None) -> list[str]:
    """Markdown: the table of `quality_table`; `interval` names the limited-guidance draw."""
    rows = [[_system_label(r["system"], interval), METRIC_NAMES[r["metric"]], r["seeds"],
             *(interval_text(r[p], r[f"{p}_low"], r[f"{p}_high"]) for p in ("harness", PEER, "difference")),
             r["verdict"]] for _, r in table.iterrows()]
    return markdown_table(["harness draw", "measure", "seeds", "harness [95% CI]", "diffusers [95% CI]",
                           "harness - diffusers [95% CI]", "verdict"], rows)


def _system_label(system: str, interval: list[float] | None) -> str:
    if system == "harness" or interval is None:
        return "guiding every step"
    return guiding_only(interval)


def _markdown(table: pd.DataFrame, records: list[dict], cfg: RunConfig, budget: str, where: str, command: str,
              run: str) -> str:
    interval = records[0]["interval"]
    limited = f", and {guiding_only(interval)}" if interval else ""
    lines = ["# The harness against diffusers over seeds: judged quality", "",
             f"Measured on {where} by `{command}` {run}. For each training seed, the baseline U-Net of the "
             f"`{budget}` budget as the harness trains it (the shared run in results/runs/) and as diffusers' "
             f"`UNet2DModel` trained on the same batches, timesteps and noise (`harness peers` has the method) draw "
             f"{records[0]['digits']} digits each from the same noise: DDIM {cfg.sample.steps} steps, "
             f"w = {cfg.sample.guidance:g}, the harness guiding every step{limited}, the peer every step. Each "
             f"difference is paired by seed; its 95% CI (Student's t over seeds) says which system is better, or "
             f"that these seeds do not tell. Speed is in `peers.md`.", "", *quality_lines(table, interval), "",
             "Per seed:", "", _seed_header(records), _seed_rule(records)]
    for r in records:
        cells = [f"{r['systems'][s][m]:.3g}" for m in sorted(JUDGED) for s in r["systems"]]
        lines.append(f"| {r['seed']} | {' | '.join(cells)} |")
    return "\n".join([*lines, ""])


def _seed_header(records: list[dict]) -> str:
    return "| seed | " + " | ".join(f"{METRIC_NAMES[m]}: {s}" for m in sorted(JUDGED) for s in records[0]["systems"]) + " |"


def _seed_rule(records: list[dict]) -> str:
    return "|---" * (1 + len(JUDGED) * len(records[0]["systems"])) + "|"

