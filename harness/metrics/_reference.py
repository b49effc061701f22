"""The reference classifier that judges generated digits: shipped with the harness, else cached, else trained.

The harness ships the weights that `harness classifier --ship` trained (the recipe in `_classifier.py`, on the
bundled MNIST). Every machine then judges samples with the same network, as FID everywhere uses the same
Inception weights, and nobody waits minutes for it. The shipped file is used only while its key, a hash of the
recipe's code, its epochs and the data file, names the current ones; after a change to any of them the
classifier is trained into the cache (~/.cache/harness or $HARNESS_CACHE) as before.
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import inspect
import os
from dataclasses import dataclass, replace
from pathlib import Path

import torch
from torch import Tensor

from .._util import ConfigError, atomic_write, cache_dir, folder_lock
from ..data import Mnist, Split, to_model_range
from . import _classifier as recipe
from ._classifier import EPOCHS, ReferenceClassifier, fit

SHIPPED_DIR = Path(__file__).with_name("weights")  # the committed classifier-<key>.pt (one file)
SHIP_COMMAND = "harness classifier --ship"


@dataclass(frozen=True)
class LoadedClassifier:
    model: ReferenceClassifier  # in eval mode, on the CPU
    test_accuracy: float  # on the 10k MNIST test digits, measured when it was trained
    path: Path  # the weights file (torch-fidelity's extractor loads it from there)
    origin: str  # "shipped" (with the harness), "cache" (trained here before) or "trained" (just now)

    @property
    def trained_now(self) -> bool:
        return self.origin == "trained"


def training_epochs() -> int:
    """EPOCHS, or $HARNESS_CLASSIFIER_EPOCHS when set (a whole number >= 1)."""
    text = os.environ.get("HARNESS_CLASSIFIER_EPOCHS", str(EPOCHS))
    if not text.isdigit() or int(text) < 1:
        raise ConfigError(f"HARNESS_CLASSIFIER_EPOCHS must be a whole number >= 1, got {text!r}")
    return int(text)


def classifier_key(data_digest: str) -> str:
    """Hash of the recipe's code, the epochs and the data's files (Mnist.digest): a change to any trains anew, and
    each data set gets its own classifier."""
    h = hashlib.sha256(recipe_code(inspect.getsource(recipe)).encode())
    h.update(f"epochs={training_epochs()}".encode())
    h.update(data_digest.encode())
    return h.hexdigest()[:16]


def recipe_code(source: str) -> str:
    """The syntax tree of the recipe's `source` without docstrings: what decides the weights, so that an edit of a
    comment, a docstring or the layout of the source keeps the shipped classifier."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                and isinstance(body[0].value.value, str):
            node.body = body[1:] or [ast.Pass()]
    return ast.dump(tree)


def weights_name(data_digest: str) -> str:
    return f"classifier-{classifier_key(data_digest)}.pt"


def load_or_train(data: Mnist, progress: bool = True) -> LoadedClassifier:
    """The shipped classifier when its key matches, else the cached one, else one trained now (CPU minutes).

    Training holds a lock on the cache folder, so study workers that start together train it once: the
    others wait, then load it. A readable cache is loaded without the lock (the folder may be read-only).
    """
    name = weights_name(data.digest)
    if (SHIPPED_DIR / name).is_file():
        return _read_shipped(SHIPPED_DIR / name)
    path = cache_dir() / name
    with contextlib.suppress(Exception):
        return _read(path, "cache")
    with folder_lock(path.parent, "reference classifier"):
        try:
            return _read(path, "cache")  # trained by another worker while this one waited
        except FileNotFoundError:
            pass
        except Exception as e:  # a truncated or foreign file: say so, then retrain over it
            print(f"classifier cache {path} is unreadable ({type(e).__name__}); retraining", flush=True)
        if progress:
            print(f"reference classifier: none shipped for this recipe and data ({name}); training one into "
                  f"{path.parent}, {training_epochs()} epochs", flush=True)
        return _train_into(path, data, progress)


def ship(data: Mnist, progress: bool = True) -> LoadedClassifier:
    """Train the classifier anew and write it into SHIPPED_DIR under its key, removing the files it replaces.

    For maintainers after a change to the recipe or the data; commit the folder afterwards.
    """
    if training_epochs() != EPOCHS:
        raise ConfigError(f"only the default {EPOCHS}-epoch classifier is shipped; unset HARNESS_CLASSIFIER_EPOCHS "
                          f"(it is {training_epochs()})")
    SHIPPED_DIR.mkdir(exist_ok=True)
    path = SHIPPED_DIR / weights_name(data.digest)
    loaded = _train_into(path, data, progress)
    for stale in SHIPPED_DIR.glob("classifier-*.pt"):
        if stale != path:
            stale.unlink()
    return replace(loaded, origin="shipped")


def _train_into(path: Path, data: Mnist, progress: bool) -> LoadedClassifier:
    model = fit(data.train, progress, training_epochs())
    accuracy = accuracy_on(model, data.test)
    atomic_write(path, lambda f: torch.save({"model": model.state_dict(), "test_accuracy": accuracy}, f))
    if progress:
        print(f"reference classifier: {accuracy:.2%} on the {len(data.test):,} test images; {path}", flush=True)
    return LoadedClassifier(model, accuracy, path, "trained")


def _read_shipped(path: Path) -> LoadedClassifier:
    """The shipped file; an unreadable one is an error, never silently replaced by another judge."""
    try:
        return _read(path, "shipped")
    except Exception as e:
        raise ConfigError(f"the shipped reference classifier {path} is unreadable ({type(e).__name__}: {e}); "
                          f"restore it with `git checkout -- {path.parent}`, or rebuild it with `{SHIP_COMMAND}`") from e


def _read(path: Path, origin: str) -> LoadedClassifier:
    """The classifier saved at `path` (FileNotFoundError, or another error for an unreadable file)."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    return LoadedClassifier(network_from(state), float(state["test_accuracy"]), path, origin)


def network_from(state: dict) -> ReferenceClassifier:
    """The network, in eval mode, of a weights file's contents (shipped, cached or just trained)."""
    model = ReferenceClassifier()
    model.load_state_dict(state["model"])
    return model.eval()


@torch.inference_mode()
def predict(model: ReferenceClassifier, images_u8: Tensor, batch: int = 1000) -> tuple[Tensor, Tensor]:
    """(N, 28, 28) uint8 -> (probabilities (N, 10), features (N, 128))."""
    model.eval()
    probs, feats = [], []
    for chunk in images_u8.split(batch):
        f = model.features(to_model_range(chunk, False))
        feats.append(f)
        probs.append(class_probabilities(model, f))
    return torch.cat(probs), torch.cat(feats)


@torch.inference_mode()
def class_probabilities(model: ReferenceClassifier, features: Tensor) -> Tensor:
    """(N, 128) penultimate features (float32, or float64 as torch-fidelity returns them) -> (N, 10) probabilities."""
    model.eval()
    return model.head(features.float()).softmax(1)


def accuracy_on(model: ReferenceClassifier, split: Split) -> float:
    probs, _ = predict(model, split.images)
    return float((probs.argmax(1) == split.labels).float().mean())
