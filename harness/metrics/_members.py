"""Every metric of `harness evaluate`, one registered function each (registry order: a grid trial's Optuna value
is the first of these that the study measures)."""

from __future__ import annotations

import json
import resource
from typing import Any

import torch

from ..core import CLASSES
from ..nn import count_parameters
from ..runs import is_conditional, network_passes
from ._classes import class_metrics, digit_metrics
from ._clip import ClipUnavailable, clip_metrics, encode_images, encode_prompts, load_clip
from ._context import Evaluation
from ._fidelity import PRC_NEIGHBORHOOD, fidelity
from ._mse import denoising_mse
from ._registry import HIGHER, LOWER, NEITHER, NETWORK, SAMPLES, Column, metric
from ._speed import measure_sampling


@metric("mse", NETWORK, Column("mse", LOWER))
def mse(ev: Evaluation) -> dict[str, Any]:
    """Validation denoising loss of the network, overall and per timestep bucket."""
    trained = ev.network()
    return denoising_mse(trained.model, trained.diffusion, ev.data.val, ev.cfg.data.pad_to_32, ev.cfg.eval.mse_images)


@metric("fid", SAMPLES, Column("fid", LOWER, per_digit=True))
def fid(ev: Evaluation) -> dict[str, Any]:
    """Frechet distance of sample and test features (Heusel et al. 2017), per digit too."""
    return _fidelity(ev, "fid")


@metric("kid", SAMPLES, Column("kid", LOWER, per_digit=True))
def kid(ev: Evaluation) -> dict[str, Any]:
    """Kernel distance, unbiased MMD^2 with a cubic kernel (Binkowski et al. 2018), per digit too."""
    return _fidelity(ev, "kid")


@metric("class_acc", SAMPLES, Column("class_acc", HIGHER, per_digit=True),
        Column("confidence", HIGHER, per_digit=True, headline=False), Column("diversity", NEITHER, per_digit=True),
        Column("diversity_ratio", NEITHER, per_digit=True, headline=False, overall=False))
def class_acc(ev: Evaluation) -> dict[str, Any]:
    """Reference classifier's accuracy and confidence on the samples, and their spread in its feature space."""
    _, labels = ev.samples()
    probs, feats = ev.predictions
    return {"classifier_test_accuracy": ev.classifier.test_accuracy,
            **class_metrics(probs, feats, labels, ev.classifier_real_features, ev.real.labels)}


@metric("class_score", SAMPLES, Column("class_score", HIGHER), Column("class_kl", LOWER, headline=False))
def class_score(ev: Evaluation) -> dict[str, Any]:
    """Inception Score with the reference classifier (1-10; for w = 0 too) and the drawn digits' KL from MNIST's."""
    probs, _ = ev.predictions
    return digit_metrics(probs, ev.classifier_real_probabilities, ev.real.labels)


@metric("prc", SAMPLES, Column("precision", HIGHER, per_digit=True), Column("recall", HIGHER, per_digit=True))
def prc(ev: Evaluation) -> dict[str, Any]:
    """Improved precision and recall, k-NN manifolds in feature space (Kynkaanniemi et al. 2019), per digit too."""
    return _fidelity(ev, "prc")


@metric("clip", SAMPLES, Column("clip_score", HIGHER, per_digit=True),
        Column("clip_zero_shot_acc", HIGHER, per_digit=True, headline=False),
        Column("clip_preference", HIGHER, per_digit=True, headline=False), by_default=False)
def clip(ev: Evaluation) -> dict[str, Any]:
    """open_clip similarity with prompts naming each class and zero-shot accuracy (needs local weights: eval.clip_weights)."""
    images, labels = ev.samples()
    e = ev.cfg.eval
    try:
        model = load_clip(e.clip_model, e.clip_weights, e.clip_pretrained)
    except ClipUnavailable as err:
        return {"clip": {"available": False, "reason": str(err)}}
    templates, preference = ev.cfg.clip_prompts()
    text = encode_prompts(model, templates, ev.data.classes)
    m = clip_metrics(encode_images(model, images), labels, text, templates, preference)
    per_digit = m.pop("per_digit")
    return {"clip": {"available": True, "model": e.clip_model, "weights": model.source, "templates": list(templates), **m},
            "per_digit": per_digit}


@metric("speed", NETWORK)
def speed(ev: Evaluation) -> dict[str, Any]:
    """Sampling images/s, ms per network evaluation, evaluations per sample, training images/s, parameters."""
    trained = ev.network()
    s = ev.sample_speed or measure_sampling(trained.model, trained.diffusion, trained.cfg, per_class=10)
    passes = network_passes(trained.cfg.sample, trained.diffusion, is_conditional(trained.model))
    out: dict[str, Any] = {"sampling_images_per_s": s.images_per_s, "ms_per_network_evaluation": s.ms_per_evaluation,
                           "network_evaluations_per_sample": s.evaluations_per_sample,
                           "network_passes_per_sample": passes,  # images through the network: 1 or 2 per evaluation
                           "guided_passes_per_evaluation": passes / s.evaluations_per_sample,
                           "sampling_images_timed": s.images, "parameters": count_parameters(trained.model)}
    train_result = ev.run_dir / "train_result.json" if ev.run_dir is not None else None
    if train_result is not None and train_result.is_file():
        out["training_images_per_s"] = json.loads(train_result.read_text()).get("images_per_s")
    if torch.cuda.is_available():
        out["peak_memory_mb"] = torch.cuda.max_memory_allocated() / 2**20
    else:
        out["peak_memory_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
    return {"speed": out}


def _fidelity(ev: Evaluation, name: str) -> dict[str, Any]:
    """One torch-fidelity metric overall, and per digit where the digit has enough samples for it (FID and KID
    need 2; precision/recall more than PRC_NEIGHBORHOOD, each sample's k-NN radius)."""
    _, labels = ev.samples()
    gen, real, real_labels = ev.generated_features, ev.real_features, ev.real.labels
    out: dict[str, Any] = {"feature_extractor": ev.cfg.eval.feature_extractor, "reference": ev.cfg.eval.reference,
                           **fidelity(gen, real, {name}),
                           "per_digit": {}}
    least = PRC_NEIGHBORHOOD + 1 if name == "prc" else 2
    short = []
    for d in CLASSES:
        mine = labels == d
        if int(mine.sum()) < least:
            short.append(str(d))
            continue
        out["per_digit"][str(d)] = fidelity(gen[mine], real[real_labels == d], {name})
    if short and name == "prc":
        ev.cautions.append(f"precision/recall per digit needs more than {PRC_NEIGHBORHOOD} samples of the digit; "
                           f"left out for digit(s) {', '.join(short)} (raise eval.samples_per_class)")
    return out
