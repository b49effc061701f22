"""`harness difficulty`: train (or reuse) the configuration over its seeds, measure, write the report."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..._util import HarnessError, folder_lock, resolve_device, sweep_partial_files
from ...config import DATASETS, RunConfig
from ...core import Diffusion
from ...data import load_mnist
from ...metrics import ClipUnavailable, LoadedClassifier, encode_prompts, load_clip, load_or_train, reference_features
from ...runs import TrainedModel, load_trained, train
from ...studies import shared_run_dir
from ._bootstrap import Estimate, Resampler
from ._config import DifficultyConfig
from ._estimates import (
    diversity_estimate,
    fid_per_digit,
    per_sample_estimates,
    recognition_estimates,
    seed_level_estimate,
)
from ._forward import ForwardResult, forward_recognition
from ._frontier import frontier_estimates
from ._measure import Measure, add_clip, cached_measure, measure, measure_key


@dataclass
class DifficultyResult:
    cfg: DifficultyConfig
    run_cfg: RunConfig  # the first seed's config (the others differ only in train.seed)
    estimates: dict[str, Estimate]  # per-digit metric -> estimate (D = 10)
    curves: dict[str, Estimate]  # "xt" / "x0" -> accuracy along the reverse process, (10, S + 1)
    informedness: dict[str, Estimate]  # the same for accuracy minus the share of other digits called this one
    timesteps: np.ndarray  # (S,) the t of each sampling step
    forward: ForwardResult
    frontier: dict[float, dict[str, Estimate]]  # w -> metric -> estimate
    clip_status: str  # "measured with ..." or why CLIP was not measured
    seconds: dict[str, float]  # training (sum over seeds, as recorded), sampling, this command's wall time
    measures: list[Measure]  # the main measure per seed (images, labels, verdicts)


def run_difficulty(cfg: DifficultyConfig, progress: bool = True) -> DifficultyResult:
    """Everything of the analysis; measures already on disk are reused, so a rerun only rewrites the report."""
    started = time.monotonic()
    run_cfg = cfg.run_config(cfg.seeds[0])  # validates the preset, budget and overrides first
    out = cfg.out_dir()
    out.mkdir(parents=True, exist_ok=True)
    sweep_partial_files(out)
    data = load_mnist(run_cfg.data)
    classifier = load_or_train(data, progress)
    real = reference_features(classifier, data)
    trained = [_trained(cfg, seed, progress) for seed in cfg.seeds]
    resampler = Resampler(len(cfg.seeds), cfg.replicates)
    say = _say(progress)
    say(f"sampling {cfg.per_class} digits per class at w={run_cfg.sample.guidance:g} with every step judged")
    main = [_measure(cfg, out, t, classifier, run_cfg.sample.guidance, cfg.per_class, True) for t in trained]
    clip_status = _clip(main, run_cfg, say)
    estimates = {**per_sample_estimates(main, resampler),
                 "diversity": diversity_estimate(main, real, data.test.labels, resampler),
                 "fid": seed_level_estimate(fid_per_digit(main, real, data.test.labels), resampler)}
    curves, informedness, reached = recognition_estimates(main, resampler, cfg.thresholds)
    estimates.update(reached)
    say(f"guidance frontier: w = {', '.join(f'{w:g}' for w in cfg.guidance)}, {cfg.frontier_count} digits per class")
    swept = {w: [_measure(cfg, out, t, classifier, w, cfg.frontier_count, False) for t in trained] for w in cfg.guidance}
    frontier = {w: frontier_estimates(ms, real, data.test.labels, resampler) for w, ms in swept.items()}
    forward = forward_recognition(classifier.model, data.test, Diffusion(run_cfg.diffusion), cfg.forward_points,
                                  cfg.forward_per_class, cfg.chance_margin, cfg.replicates)
    sampling = sum(m["seconds"] for m in main) + sum(m["seconds"] for ms in swept.values() for m in ms)
    seconds = {"training": _training_seconds(cfg), "sampling": sampling,
               "command": time.monotonic() - started}
    return DifficultyResult(cfg, run_cfg, estimates, curves, informedness, torch.as_tensor(main[0]["timesteps"]).numpy().copy(), forward,
                            frontier, clip_status, seconds, main)


def _trained(cfg: DifficultyConfig, seed: int, progress: bool) -> TrainedModel:
    """The seed's network from results/runs/<hash>/, trained first if it is not there or not finished."""
    run_cfg = cfg.run_config(seed)
    run_dir = shared_run_dir(cfg.results, run_cfg)
    with folder_lock(run_dir, f"difficulty seed {seed}"):
        result = train(run_cfg, run_dir, progress=progress)
    if result.status != "finished":
        raise HarnessError(f"training seed {seed} ({run_dir}) did not finish: {result.message}")
    trained = load_trained(run_dir, use_ema=run_cfg.sample.use_ema, device=resolve_device(run_cfg.train.device))
    trained.cfg = run_cfg  # its sample/eval settings are this analysis's
    return trained


def _measure(cfg: DifficultyConfig, out: Path, trained: TrainedModel, classifier: LoadedClassifier, w: float,
             per_class: int, trajectory: bool) -> Measure:
    key = measure_key(trained, w, per_class, trajectory)
    return cached_measure(out / "measures", key,
                          lambda: measure(trained, classifier, w, per_class, trajectory, trained.cfg.train.seed))


def _clip(measures: list[Measure], run_cfg: RunConfig, say) -> str:  # noqa: ANN001 (a print function)
    """Adds per-sample CLIP figures when local weights exist; returns what was done, or why not."""
    e = run_cfg.eval
    try:
        clip = load_clip(e.clip_model, e.clip_weights, e.clip_pretrained)
    except ClipUnavailable as err:
        return f"not measured: {err}"
    say(f"CLIP scores with {clip.source}")
    templates, preference = run_cfg.clip_prompts()
    text = encode_prompts(clip, templates, DATASETS.get(run_cfg.data.dataset).classes)
    for m in measures:
        add_clip(m, clip, text, templates, preference)
    return f"measured with open_clip {e.clip_model} ({clip.source})"


def _training_seconds(cfg: DifficultyConfig) -> float:
    total = 0.0
    for seed in cfg.seeds:
        path = shared_run_dir(cfg.results, cfg.run_config(seed)) / "train_result.json"
        total += float(json.loads(path.read_text()).get("seconds") or 0.0) if path.is_file() else 0.0
    return total


def _say(progress: bool):  # noqa: ANN202
    def say(text: str) -> None:
        if progress:
            print(f"difficulty: {text}", flush=True)
    return say
