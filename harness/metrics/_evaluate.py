"""`harness evaluate`: every requested metric of a trained run, overall and per digit, into metrics.json."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from .._util import ConfigError, resolve_device, write_json
from ..config import cautions, with_overrides
from ..core import CLASSES
from ..data import load_mnist
from ..runs import TrainedModel, grid_labels, load_samples, load_trained, save_grid, to_uint8, with_guide
from . import _members  # noqa: F401  (registers every metric)
from ._clip import check_clip_weights
from ._context import Evaluation
from ._registry import METRICS, SAMPLES
from ._speed import SampleSpeed, timed_generate


def parse_metrics(text: str) -> set[str]:
    """The metric names of a comma-separated --metrics value, each registered."""
    chosen = {m.strip() for m in text.split(",") if m.strip()}
    unknown = sorted(chosen - set(METRICS))
    if unknown or not chosen:
        raise ConfigError(f"--metrics: unknown metric {unknown[0] if unknown else '(none given)'}; "
                          f"valid: {', '.join(METRICS)}")
    return chosen


def default_metrics() -> str:
    """--metrics when not given: every metric computed by default (clip needs local weights, so is asked for)."""
    return ",".join(name for name, m in METRICS.items() if m.by_default)


def evaluate(run_dir: Path, metrics: set[str], samples: Path | None = None, samples_per_class: int | None = None,
             seed: int = 0, overrides: list[str] | None = None, out: Path | None = None,
             grid: Path | None = None, samples_range: tuple[float, float] | None = None) -> dict[str, Any]:
    """Compute `metrics` for the run in `run_dir`; writes `out` (default run_dir/metrics.json) and returns it.

    `overrides` change the run's sample.* and eval.* settings for this evaluation only; `grid` names a PNG
    of the first generated digits (sample.grid_per_class of each); `samples_range` is the value range of a
    sample file of float images (data.VALUE_RANGES).
    """
    device = resolve_device("auto")
    trained = load_trained(run_dir, device=device)
    cfg = with_overrides(trained.cfg, overrides or [], ("sample", "eval"))
    if cfg.sample.ema_length:  # the post-hoc EMA of this length, reconstructed from the run's snapshots
        trained = load_trained(run_dir, device=device, ema_length=cfg.sample.ema_length)
    elif trained.ema and not cfg.sample.use_ema:
        trained = load_trained(run_dir, use_ema=False, device=device)
    trained.cfg = cfg
    trained = with_guide(trained, run_dir, cfg.sample, device)  # autoguidance's guide, checked before any sampling
    if "clip" in metrics:  # a wrong weights path fails now, not after sampling and the classifier
        check_clip_weights(cfg.eval.clip_weights)
    ev = Evaluation(cfg, load_mnist(cfg.data), trained, run_dir, cautions=cautions(cfg))
    result: dict[str, Any] = {"run": str(run_dir), "step": trained.step, "ema_weights": trained.ema,
                              "dataset": cfg.data.dataset, "classes": list(ev.data.classes)}  # per_digit's keys: labels
    if any(METRICS.get(name).needs == SAMPLES for name in metrics):
        per_class = samples_per_class or cfg.eval.samples_per_class
        ev.images, ev.labels, how, ev.sample_speed = _samples(trained, samples, per_class, seed, samples_range)
        result["samples"] = {"count": len(ev.labels), "source": how}
        if grid is not None:
            save_digit_grid(ev.images, ev.labels, cfg.sample.grid_per_class, grid)
    result.update(computed(ev, metrics))
    write_json(out or run_dir / "metrics.json", result)
    return result


def computed(ev: Evaluation, metrics: set[str]) -> dict[str, Any]:
    """Every chosen metric in registry order, merged: per-digit figures under per_digit[<digit>]."""
    result: dict[str, Any] = {"per_digit": {}}
    for name, m in METRICS.items():
        if name not in metrics:
            continue
        figures = m.compute(ev)
        for digit, values in figures.pop("per_digit", {}).items():
            result["per_digit"].setdefault(digit, {}).update(values)
        result.update(figures)
    result["cautions"] = ev.cautions
    return result


def _samples(trained: TrainedModel, path: Path | None, per_class: int, seed: int,
             value_range: tuple[float, float] | None) -> tuple[torch.Tensor, torch.Tensor, str, SampleSpeed | None]:
    if path is not None:
        images, labels = load_samples(path, value_range)
        return images, labels, str(path), None
    cfg = trained.cfg
    device = next(trained.model.parameters()).device
    labels = grid_labels(per_class)
    g = torch.Generator(device=device).manual_seed(seed)
    images, speed = timed_generate(trained.model, trained.diffusion, cfg, labels, g)
    s = cfg.sample
    return to_uint8(images).cpu(), labels, f"generated: {s.sampler}, {s.steps} steps, w={s.guidance}, seed {seed}", speed


def save_digit_grid(images: torch.Tensor, labels: torch.Tensor, per_class: int, path: Path) -> None:
    """Row d of the PNG: the first `per_class` digits generated (or given) for label d."""
    per_class = min([per_class] + [int((labels == d).sum()) for d in CLASSES])
    if per_class < 1:  # a sample file without some digit: no rectangular grid to draw
        return
    rows = [images[labels == d][:per_class] for d in CLASSES]
    save_grid(torch.cat(rows), per_class, path)
