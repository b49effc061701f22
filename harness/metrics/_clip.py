"""CLIP scores of generated images with open_clip, from local weights only (nothing is downloaded).

Per class: the mean CLIP score (100 x cosine with the first prompt, naming the class), zero-shot accuracy over
the ten classes' prompt ensembles (Radford et al. 2021, sec. 3.1.4), each prompt's share of a softmax over the
prompts, and the preference of the first of `preference` over the second (report 002's comparison).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from .._util import ConfigError
from ..core import CLASSES

LOCAL_DIR = "local-dir:"  # open_clip's schema for a folder with open_clip_config.json and weights
LOGIT_SCALE = 100.0  # CLIP's learned temperature saturates at 100


class ClipUnavailable(Exception):
    """No CLIP weights can be had without a download; the message says what to set."""


@dataclass
class Clip:
    model: nn.Module
    preprocess: Any  # PIL image -> (3, S, S) tensor
    tokenizer: Any  # list of strings -> token tensor
    source: str  # where the weights came from


def check_clip_weights(weights: str | None) -> None:
    """An explicit eval.clip_weights must be a file (None: the local cache is searched when CLIP loads)."""
    if weights is not None and not Path(weights).is_file():
        raise ConfigError(f"eval.clip_weights={weights} does not exist; give a local open_clip checkpoint file")


def load_clip(model_name: str, weights: str | None, pretrained_tag: str) -> Clip:
    """open_clip model `model_name` with weights from a file, a local-dir folder, or the local cache."""
    import open_clip

    if model_name.startswith(LOCAL_DIR):
        folder = Path(model_name[len(LOCAL_DIR):])
        if not (folder / "open_clip_config.json").is_file():
            raise ConfigError(f"eval.clip_model={model_name}: {folder} holds no open_clip_config.json")
        model, _, preprocess = open_clip.create_model_and_transforms(model_name)
        return Clip(model.eval(), preprocess, open_clip.get_tokenizer(model_name), str(folder))
    if weights is not None:
        check_clip_weights(weights)
        source = weights
    else:
        source = _cached_weights(model_name, pretrained_tag)
    model, _, preprocess = open_clip.create_model_and_transforms(model_name, pretrained=source)
    return Clip(model.eval(), preprocess, open_clip.get_tokenizer(model_name), source)


def _cached_weights(model_name: str, tag: str) -> str:
    """The weights file of (model, tag) in the user's Hugging Face cache, looked up without the network."""
    import open_clip
    from huggingface_hub import try_to_load_from_cache

    cfg = open_clip.get_pretrained_cfg(model_name, tag)
    repo = (cfg or {}).get("hf_hub", "").strip("/")
    for filename in ("open_clip_model.safetensors", "open_clip_pytorch_model.bin"):
        found = try_to_load_from_cache(repo, filename) if repo else None
        if isinstance(found, str):
            return found
    raise ClipUnavailable(f"no local CLIP weights for {model_name}/{tag} (looked in the Hugging Face cache"
                          f"{' for ' + repo if repo else ''}); set eval.clip_weights=PATH to an open_clip checkpoint "
                          f"file or eval.clip_model=local-dir:FOLDER; nothing is downloaded")


@torch.inference_mode()
def encode_images(clip: Clip, images_u8: Tensor, batch: int = 256) -> Tensor:
    """(N, 28, 28) uint8 digits -> (N, D) unit-norm image embeddings (white digits on black, as in MNIST)."""
    from PIL import Image

    out = []
    for chunk in images_u8.split(batch):
        pixels = torch.stack([clip.preprocess(Image.fromarray(img.numpy(), mode="L").convert("RGB")) for img in chunk])
        out.append(nn.functional.normalize(clip.model.encode_image(pixels).float(), dim=-1))
    return torch.cat(out)


@torch.inference_mode()
def encode_prompts(clip: Clip, templates: tuple[str, ...], classes: tuple[str, ...]) -> Tensor:
    """(len(templates), C, D) unit-norm text embeddings of each template filled with each class's name."""
    prompts = [t.format(d=name) for t in templates for name in classes]
    emb = nn.functional.normalize(clip.model.encode_text(clip.tokenizer(prompts)).float(), dim=-1)
    return emb.view(len(templates), len(classes), -1)


def per_sample_clip(image_emb: Tensor, labels: Tensor, text_emb: Tensor) -> tuple[Tensor, Tensor]:
    """(N, templates) cosine of each image with its own digit's prompts, and (N,) zero-shot correctness
    against the ten digits' prompt ensembles."""
    cos = torch.einsum("nd,tkd->ntk", image_emb, text_emb)  # (N, templates, digits)
    own = cos[torch.arange(len(labels)), :, labels]  # (N, templates): each image against its own digit
    ensemble = nn.functional.normalize(text_emb.mean(0), dim=-1)  # (digits, D)
    return own, (image_emb @ ensemble.T).argmax(1) == labels


def preference_share(own: Tensor, templates: tuple[str, ...], preference: tuple[str, ...]) -> Tensor:
    """(N,) softmax share of the first prompt of `preference` against the second, from `own` (N, templates)."""
    a, b = (templates.index(p) for p in preference)
    return (LOGIT_SCALE * own[:, [a, b]]).softmax(1)[:, 0]


def clip_metrics(image_emb: Tensor, labels: Tensor, text_emb: Tensor, templates: tuple[str, ...],
                 preference: tuple[str, str]) -> dict[str, Any]:
    """Overall and per-digit CLIP figures from unit-norm embeddings (see the module docstring)."""
    own, zero_shot = per_sample_clip(image_emb, labels, text_emb)
    share = (LOGIT_SCALE * own).softmax(1)  # (N, templates)
    prefers = preference_share(own, templates, preference)
    per_digit: dict[str, dict[str, Any]] = {}
    for d in CLASSES:
        m = labels == d
        if bool(m.any()):
            per_digit[str(d)] = {"clip_score": float(LOGIT_SCALE * own[m, 0].mean()),
                                 "clip_zero_shot_acc": float(zero_shot[m].double().mean()),
                                 "clip_preference": float(prefers[m].mean()),
                                 "clip_template_share": {t: float(share[m, i].mean()) for i, t in enumerate(templates)}}
    return {"clip_score": float(LOGIT_SCALE * own[:, 0].mean()), "clip_zero_shot_acc": float(zero_shot.double().mean()),
            "clip_preference": float(prefers.mean()), "clip_preference_pair": list(preference), "per_digit": per_digit}
