"""`harness evaluate`: every requested metric of a trained run, overall and per digit, into metrics.json."""

from __future__ import annotations

import json
import resource
from pathlib import Path
from typing import Any

import torch

from .cautions import cautions
from .checkpoint import TrainedModel, load_trained
from .config import EvalConfig, with_overrides
from .data import Mnist, bundled_mnist_path, load_mnist
from .devices import resolve_device
from .errors import ConfigError
from .cache import cache_dir, file_digest
from .files import atomic_write, write_json
from .generate import grid_labels, is_conditional, network_passes, to_uint8
from .grid import save_grid
from .metrics.classes import class_metrics
from .metrics.reference import LoadedClassifier, load_or_train, predict
from .metrics.clip import check_clip_weights
from .metrics.features import MNIST_EXTRACTOR, extract_features
from .metrics.fidelity import PRC_NEIGHBORHOOD, fidelity
from .metrics.mse import denoising_mse
from .metrics.speed import SampleSpeed, measure_sampling, timed_generate
from .samplefile import load_samples
from .unet import count_parameters

METRICS = ("fid", "kid", "prc", "class_acc", "clip", "speed", "mse")
SAMPLE_METRICS = {"fid", "kid", "prc", "class_acc", "clip"}  # need generated digits


def parse_metrics(text: str) -> set[str]:
    chosen = {m.strip() for m in text.split(",") if m.strip()}
    unknown = sorted(chosen - set(METRICS))
    if unknown or not chosen:
        raise ConfigError(f"--metrics: unknown metric {unknown[0] if unknown else '(none given)'}; valid: {', '.join(METRICS)}")
    return chosen


def evaluate(run_dir: Path, metrics: set[str], samples: Path | None = None, samples_per_class: int | None = None,
             seed: int = 0, overrides: list[str] | None = None, out: Path | None = None,
             grid: Path | None = None) -> dict[str, Any]:
    """Compute `metrics` for the run in `run_dir`; writes `out` (default run_dir/metrics.json) and returns it.

    `overrides` change the run's sample.* and eval.* settings for this evaluation only; `grid` names a PNG
    of the first generated digits (sample.grid_per_class of each).
    """
    device = resolve_device("auto")
    trained = load_trained(run_dir, device=device)
    cfg = with_overrides(trained.cfg, overrides or [], ("sample", "eval"))
    if trained.ema and not cfg.sample.use_ema:
        trained = load_trained(run_dir, use_ema=False, device=device)
    trained.cfg = cfg
    if "clip" in metrics:  # a wrong weights path fails now, not after sampling and the classifier
        check_clip_weights(cfg.eval.clip_weights)
    data = load_mnist(cfg.data)
    result: dict[str, Any] = {"run": str(run_dir), "step": trained.step, "ema_weights": trained.ema, "per_digit": {},
                              "cautions": cautions(cfg)}
    speed: SampleSpeed | None = None  # timed on the evaluation's own samples when it draws them
    if metrics & SAMPLE_METRICS:
        images, labels, how, speed = _samples(trained, samples, samples_per_class or cfg.eval.samples_per_class, seed)
        result["samples"] = {"count": len(labels), "source": how}
        if grid is not None:
            save_digit_grid(images, labels, cfg.sample.grid_per_class, grid)
        sample_metrics(result, metrics, images, labels, data, cfg.eval)
    if "mse" in metrics:
        result.update(denoising_mse(trained.model, trained.diffusion, data.val, cfg.data.pad_to_32, cfg.eval.mse_images))
    if "speed" in metrics:
        result["speed"] = _speed(trained, run_dir, speed)
    write_json(out or run_dir / "metrics.json", result)
    return result


def _samples(trained: TrainedModel, path: Path | None, per_class: int,
             seed: int) -> tuple[torch.Tensor, torch.Tensor, str, SampleSpeed | None]:
    if path is not None:
        images, labels = load_samples(path)
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
    per_class = min([per_class] + [int((labels == d).sum()) for d in range(10)])
    if per_class < 1:  # a sample file without some digit: no rectangular grid to draw
        return
    rows = [images[labels == d][:per_class] for d in range(10)]
    save_grid(torch.cat(rows), per_class, path)


def sample_metrics(result: dict[str, Any], metrics: set[str], images: torch.Tensor, labels: torch.Tensor,
                    data: Mnist, eval_cfg: EvalConfig) -> None:
    """Add the classifier-based and fidelity `metrics` of uint8 `images` (N, 28, 28), overall and per digit
    (under result["per_digit"]), to `result`."""
    wanted = metrics & {"fid", "kid", "prc"}
    if "class_acc" in metrics or wanted:
        classifier = load_or_train(data, bundled_mnist_path())
        result["classifier_test_accuracy"] = classifier.test_accuracy
    if "class_acc" in metrics:
        probs, feats = predict(classifier.model, images)
        cm = class_metrics(probs, feats, labels, reference_features(classifier, data), data.test.labels)
        for digit, values in cm.pop("per_digit").items():
            result["per_digit"].setdefault(digit, {}).update(values)
        result.update(cm)
    if wanted:
        extractor = eval_cfg.feature_extractor
        weights = classifier.path if extractor == MNIST_EXTRACTOR else Path(eval_cfg.inception_weights or "")
        gen = extract_features(images, extractor, weights)
        real_feats = (reference_features(classifier, data) if extractor == MNIST_EXTRACTOR else
                      extract_features(data.test.images, extractor, weights))
        result["feature_extractor"] = extractor
        result.update(fidelity(gen, real_feats, wanted))
        _per_digit_fidelity(result, wanted, gen, labels, real_feats, data.test.labels)
    if "clip" in metrics:
        _clip(result, eval_cfg, images, labels)


def _per_digit_fidelity(result: dict[str, Any], wanted: set[str], gen: torch.Tensor, labels: torch.Tensor,
                        real: torch.Tensor, real_labels: torch.Tensor) -> None:
    """FID/KID of each digit from 2 of its samples, precision/recall from PRC_NEIGHBORHOOD + 1 (its k-NN radii)."""
    short = []
    for d in range(10):
        mine = labels == d
        n = int(mine.sum())
        here = wanted - {"prc"} if n <= PRC_NEIGHBORHOOD else wanted
        if here != wanted:
            short.append(str(d))
        if n >= 2 and here:
            result["per_digit"].setdefault(str(d), {}).update(fidelity(gen[mine], real[real_labels == d], here))
    if short:
        result.setdefault("cautions", []).append(
            f"precision/recall per digit needs more than {PRC_NEIGHBORHOOD} samples of the digit; left out for "
            f"digit(s) {', '.join(short)} (raise eval.samples_per_class)")


def _clip(result: dict[str, Any], cfg: EvalConfig, images: torch.Tensor, labels: torch.Tensor) -> None:
    from .metrics.clip import ClipUnavailable, clip_metrics, encode_images, encode_prompts, load_clip

    try:
        clip = load_clip(cfg.clip_model, cfg.clip_weights, cfg.clip_pretrained)
    except ClipUnavailable as e:
        result["clip"] = {"available": False, "reason": str(e)}
        return
    m = clip_metrics(encode_images(clip, images), labels, encode_prompts(clip, cfg.clip_templates),
                     cfg.clip_templates, (cfg.clip_preference[0], cfg.clip_preference[1]))
    for digit, values in m.pop("per_digit").items():
        result["per_digit"].setdefault(digit, {}).update(values)
    result["clip"] = {"available": True, "model": cfg.clip_model, "weights": clip.source, **m}


def reference_features(classifier: LoadedClassifier, data: Mnist) -> torch.Tensor:
    """torch-fidelity features of the 10k test digits, cached on disk under the digest of the classifier's weights
    and of the data file (a shipped and a locally trained classifier of one key have different weights)."""
    path = cache_dir() / f"test-features-{file_digest(classifier.path)[:16]}-{file_digest(bundled_mnist_path())[:16]}.pt"
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        return state["features"]
    except Exception:  # missing or unreadable: recompute (seconds)
        pass
    feats = extract_features(data.test.images, MNIST_EXTRACTOR, classifier.path)
    atomic_write(path, lambda f: torch.save({"features": feats}, f))
    return feats


def _speed(trained: TrainedModel, run_dir: Path, timed: SampleSpeed | None) -> dict[str, Any]:
    s = timed or measure_sampling(trained.model, trained.diffusion, trained.cfg, per_class=10)
    passes = network_passes(trained.cfg.sample, trained.diffusion.timesteps, is_conditional(trained.model))  # images through the network
    out: dict[str, Any] = {"sampling_images_per_s": s.images_per_s, "ms_per_network_evaluation": s.ms_per_evaluation,
                           "network_evaluations_per_sample": s.evaluations_per_sample,
                           "network_passes_per_sample": passes,
                           "guided_passes_per_evaluation": passes / trained.cfg.sample.steps,  # 1 to 2
                           "sampling_images_timed": s.images, "parameters": count_parameters(trained.model)}
    train_result = run_dir / "train_result.json"
    if train_result.is_file():
        out["training_images_per_s"] = json.loads(train_result.read_text()).get("images_per_s")
    if torch.cuda.is_available():
        out["peak_memory_mb"] = torch.cuda.max_memory_allocated() / 2**20
    else:
        out["peak_memory_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
    return out
