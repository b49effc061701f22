"""One trained seed's generated digits, reduced to what the analysis needs (per-sample verdicts and
features), cached beside the analysis so that a rerun or `harness reproduce` never samples twice."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from ..._util import atomic_write
from ...config import config_hash
from ...metrics import (
    LOGIT_SCALE,
    MNIST_EXTRACTOR,
    LoadedClassifier,
    encode_images,
    extract_features,
    per_sample_clip,
    predict,
    preference_share,
    timed,
)
from ...runs import TrainedModel, generate, grid_labels, to_uint8
from ._recognition import RecognitionRecorder, classifier_verdicts

FORMAT = 2  # bump when a measure gains or changes a field, so old cache files are not read
Measure = dict[str, Any]  # tensors (CPU) and numbers; torch.save-able and loadable with weights_only=True


def measure_key(trained: TrainedModel, guidance: float, per_class: int, trajectory: bool) -> str:
    """Names the cache file: the run and its sampler settings (both in the config's hash), the guidance,
    the sample count, whether steps were recorded, and which weights."""
    text = json.dumps([FORMAT, config_hash(trained.cfg), guidance, per_class, trajectory, trained.ema])
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def measure(trained: TrainedModel, classifier: LoadedClassifier, guidance: float, per_class: int,
            trajectory: bool, seed: int) -> Measure:
    """Generate `per_class` digits of each class at guidance w and judge them with the reference classifier.

    `features` (the classifier's penultimate layer) measure diversity; `fidelity_features` are the same
    layer as torch-fidelity extracts it, for FID and recall against the cached real-digit features.
    With `trajectory`, also the classifier's predictions on x_t and on the predicted x0 at every step.
    """
    cfg = dataclasses.replace(trained.cfg.sample, guidance=guidance)
    labels = grid_labels(per_class)
    recorder = RecognitionRecorder(classifier_verdicts(classifier.model), cfg.steps) if trajectory else None
    device = next(trained.model.parameters()).device
    images, seconds = timed(device, lambda: generate(trained.model, trained.diffusion, cfg, labels,
                                                     trained.cfg.data.image_size,
                                                     torch.Generator(device=device).manual_seed(seed),
                                                     trajectory=recorder))
    digits = to_uint8(images).cpu()
    probs, features = predict(classifier.model, digits)
    predicted = probs.argmax(1)
    out: Measure = {"labels": labels, "images": digits, "correct": predicted == labels,
                    "confidence": probs.gather(1, labels[:, None])[:, 0], "features": features,
                    "fidelity_features": extract_features(digits, MNIST_EXTRACTOR, classifier.path),
                    "guidance": guidance, "seconds": seconds}
    if recorder is not None:
        out["on_xt"], out["on_x0"] = recorder.predictions(predicted)
        out["timesteps"] = torch.tensor(recorder.timesteps)
    return out


def cached_measure(folder: Path, key: str, compute: Any) -> Measure:
    """The measure stored under `key` in `folder`, else `compute()` stored there (atomically)."""
    path = folder / f"{key}.pt"
    if path.is_file():
        try:
            return torch.load(path, map_location="cpu", weights_only=True)
        except Exception:  # a damaged file (e.g. a disk filled up): measure again
            pass
    result = compute()
    atomic_write(path, lambda f: torch.save(result, f))
    return result


def add_clip(m: Measure, clip: Any, text: Tensor, templates: tuple[str, ...], preference: tuple[str, str]) -> None:
    """Per-sample CLIP score (100 x cosine with the first prompt), zero-shot correctness and preference of
    the first prompt of `preference` over its second (report 002's photo vs blurry), into `m`; `text` is
    encode_prompts' embedding of `templates`."""
    own, zero_shot = per_sample_clip(encode_images(clip, m["images"]), m["labels"], text)
    m["clip_score"], m["clip_zero_shot"] = LOGIT_SCALE * own[:, 0], zero_shot
    m["clip_preference"] = preference_share(own, templates, preference)
