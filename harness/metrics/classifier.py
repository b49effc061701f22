"""The reference MNIST classifier: trained by the harness on the train split, cached by a hash of
its code and data, and used to judge generated digits (accuracy, confidence, features for FID).
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import os
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..cache import cache_dir, file_digest
from ..data import Mnist, Split, to_model_range
from ..errors import ConfigError
from ..files import atomic_write
from ..locks import folder_lock

EPOCHS = 3  # passes over the 50k training digits; $HARNESS_CLASSIFIER_EPOCHS overrides (the test suite uses 1)
BATCH = 128
LR = 2e-3
SEED = 0
FEATURE_DIM = 128  # width of the penultimate layer (the feature space of FID/KID and diversity)


class ReferenceClassifier(nn.Module):
    """A small CNN: two conv pairs with BatchNorm and max-pooling, then a 128-d feature layer.

    Takes (B, 1, 28, 28) in [-1, 1]; `features` gives the (B, 128) penultimate activations.
    """

    def __init__(self) -> None:
        super().__init__()

        def conv(cin: int, cout: int) -> list[nn.Module]:
            return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]

        self.body = nn.Sequential(*conv(1, 32), *conv(32, 32), nn.MaxPool2d(2),  # (B, 32, 14, 14)
                                  *conv(32, 64), *conv(64, 64), nn.MaxPool2d(2),  # (B, 64, 7, 7)
                                  nn.Flatten(), nn.Dropout(0.25), nn.Linear(64 * 49, FEATURE_DIM), nn.ReLU())
        self.head = nn.Sequential(nn.Dropout(0.25), nn.Linear(FEATURE_DIM, 10))

    def features(self, x: Tensor) -> Tensor:
        return self.body(x)  # (B, 128)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.body(x))  # (B, 10) logits


@dataclass(frozen=True)
class LoadedClassifier:
    model: ReferenceClassifier  # in eval mode, on the CPU
    test_accuracy: float  # on the 10k MNIST test digits
    path: Path  # the cache file
    trained_now: bool  # False when it came from the cache


def training_epochs() -> int:
    """EPOCHS, or $HARNESS_CLASSIFIER_EPOCHS when set (a whole number >= 1)."""
    text = os.environ.get("HARNESS_CLASSIFIER_EPOCHS", str(EPOCHS))
    if not text.isdigit() or int(text) < 1:
        raise ConfigError(f"HARNESS_CLASSIFIER_EPOCHS must be a whole number >= 1, got {text!r}")
    return int(text)


def classifier_key(data_file: Path) -> str:
    """Hash of this module's source, the epochs and the data file: a change to any retrains."""
    import sys

    source = inspect.getsource(sys.modules[__name__])
    h = hashlib.sha256(source.encode())
    h.update(f"epochs={training_epochs()}".encode())
    h.update(file_digest(data_file).encode())
    return h.hexdigest()[:16]


def load_or_train(data: Mnist, data_file: Path, progress: bool = True) -> LoadedClassifier:
    """The cached classifier for this code and data, trained (a few CPU minutes) if missing or corrupt.

    Training holds a lock on the cache folder, so study workers that start together on a fresh machine train
    it once: the others wait, then load it. A readable cache is loaded without the lock (it may be read-only).
    """
    path = cache_dir() / f"classifier-{classifier_key(data_file)}.pt"
    with contextlib.suppress(Exception):
        return _read_cached(path)
    with folder_lock(path.parent, "reference classifier"):
        try:
            return _read_cached(path)  # trained by another worker while this one waited
        except FileNotFoundError:
            pass
        except Exception as e:  # a truncated or foreign file: say so, then retrain over it
            print(f"classifier cache {path} is unreadable ({type(e).__name__}); retraining", flush=True)
        model = fit(data.train, progress, training_epochs())
        accuracy = float(accuracy_on(model, data.test))
        atomic_write(path, lambda f: torch.save({"model": model.state_dict(), "test_accuracy": accuracy}, f))
    return LoadedClassifier(model, accuracy, path, True)


def _read_cached(path: Path) -> LoadedClassifier:
    """The classifier cached at `path` (FileNotFoundError, or another error for an unreadable file)."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    model = ReferenceClassifier()
    model.load_state_dict(state["model"])
    return LoadedClassifier(model.eval(), float(state["test_accuracy"]), path, False)


def fit(train: Split, progress: bool, epochs: int = EPOCHS) -> ReferenceClassifier:
    """Adam with a one-cycle learning rate and +-2 pixel random shifts, `epochs` passes."""
    torch.manual_seed(SEED)
    g = torch.Generator().manual_seed(SEED)
    model = ReferenceClassifier()
    x_all, y_all = to_model_range(train.images, False), train.labels
    steps = epochs * (len(y_all) // BATCH)
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=LR, total_steps=steps)
    model.train()
    t0, step = time.perf_counter(), 0
    for epoch in range(epochs):
        order = torch.randperm(len(y_all), generator=g)
        for idx in order[: len(order) // BATCH * BATCH].split(BATCH):
            loss = F.cross_entropy(model(random_shift(x_all[idx], g)), y_all[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            step += 1
        if progress:
            print(f"reference classifier: epoch {epoch + 1}/{epochs} done, {time.perf_counter() - t0:.0f} s", flush=True)
    return model.eval()


def random_shift(x: Tensor, g: torch.Generator, max_shift: int = 2) -> Tensor:
    """Translate each image by up to `max_shift` pixels (background fills in)."""
    padded = F.pad(x, (max_shift,) * 4, value=-1.0)
    dx, dy = torch.randint(0, 2 * max_shift + 1, (2,), generator=g).tolist()
    return padded[..., dy : dy + x.shape[-2], dx : dx + x.shape[-1]]


@torch.inference_mode()
def predict(model: ReferenceClassifier, images_u8: Tensor, batch: int = 1000) -> tuple[Tensor, Tensor]:
    """(N, 28, 28) uint8 -> (probabilities (N, 10), features (N, 128))."""
    model.eval()
    probs, feats = [], []
    for chunk in images_u8.split(batch):
        f = model.features(to_model_range(chunk, False))
        feats.append(f)
        probs.append(model.head(f).softmax(1))
    return torch.cat(probs), torch.cat(feats)


def accuracy_on(model: ReferenceClassifier, split: Split) -> float:
    probs, _ = predict(model, split.images)
    return float((probs.argmax(1) == split.labels).float().mean())
