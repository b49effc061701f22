"""Sample files: what `harness sample` writes (.npz: `images` (N, 28, 28) uint8, `labels` (N,) digits) and what
`harness evaluate --samples` and `harness score` read - that .npz, an .npz or .pt of float images in a stated
range, or a folder of PNGs sorted or named by class.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torch import Tensor

from .._util import DataError, atomic_write
from ..core import CLASSES
from ..data import VALUE_RANGES

PNG_NAME = re.compile(r"^(\d)[_\-. ]")  # a PNG named by its class: 3_0017.png, 3-a.png


def save_samples(path: Path, images: Tensor, labels: Tensor) -> None:
    atomic_write(path, lambda f: np.savez_compressed(f, images=images.numpy().astype(np.uint8),
                                                     labels=labels.numpy().astype(np.int64)))


def load_samples(path: Path, stated_range: tuple[float, float] | None = None) -> tuple[Tensor, Tensor]:
    """(images (N, 28, 28) uint8, labels (N,) int64) from an .npz, a .pt or a folder of PNGs; anything else is a
    DataError saying what is wrong. Float images need `stated_range` (VALUE_RANGES) and must lie in it."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path} does not exist; give an .npz, a .pt or a folder of PNGs")
    if path.is_dir():
        images, labels = _png_folder(path)
    elif path.suffix == ".pt":
        images, labels = _torch_file(path)
    else:
        images, labels = _npz(path)
    return checked_samples(str(path), images, labels, stated_range)


def _npz(path: Path) -> tuple[np.ndarray, np.ndarray]:
    if not zipfile.is_zipfile(path):  # np.load would guess "pickled data" for any other file
        raise DataError(f"{path} is not an .npz archive; write one with `harness sample RUN --out FILE.npz` or "
                        f"np.savez(FILE, images=..., labels=...)")
    try:
        with np.load(path, allow_pickle=False) as data:
            if "images" not in data or "labels" not in data:
                raise DataError(f"{path} must hold arrays 'images' and 'labels'; it holds {sorted(data.files)}")
            return data["images"], data["labels"]
    except (OSError, ValueError) as e:
        raise DataError(f"{path} is not a readable .npz sample file ({type(e).__name__}: {e})") from None


def _torch_file(path: Path) -> tuple[Tensor, Tensor]:
    """A .pt holding {'images': tensor, 'labels': tensor} or the pair (images, labels); tensors only."""
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001  (torch raises many kinds for a file that is not its own)
        raise DataError(f"{path} is not a readable torch file of tensors ({type(e).__name__})") from None
    if isinstance(data, dict) and {"images", "labels"} <= set(data):
        images, labels = data["images"], data["labels"]
    elif isinstance(data, (tuple, list)) and len(data) == 2:
        images, labels = data
    else:
        raise DataError(f"{path} must hold {{'images': tensor, 'labels': tensor}} or (images, labels); "
                        f"it holds a {type(data).__name__}")
    if not isinstance(images, Tensor) or not isinstance(labels, Tensor):
        raise DataError(f"{path}: images and labels must be tensors, got {type(images).__name__} and "
                        f"{type(labels).__name__}")
    return images, labels


def _png_folder(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """PNGs in subfolders 0/ .. 9/ (sorted by class), or directly in `path` named <digit>_*.png (named by class)."""
    by_folder = [(int(d), f) for d in map(str, CLASSES) if (path / d).is_dir() for f in sorted((path / d).glob("*.png"))]
    matches = [(PNG_NAME.match(f.name), f) for f in sorted(path.glob("*.png"))]  # the PNGs directly in `path`
    named = [(int(m.group(1)), f) for m, f in matches if m]
    unnamed = [f.name for m, f in matches if not m]
    if by_folder and named:
        raise DataError(f"{path} holds class folders and class-named PNGs; keep one layout")
    if unnamed and not by_folder:
        raise DataError(f"{path}/{unnamed[0]} is not named by its class; name PNGs <digit>_<anything>.png or put "
                        f"them in subfolders 0/ .. 9/")
    files = by_folder or named
    if not files:
        raise DataError(f"{path} holds no PNGs in subfolders 0/ .. 9/ nor named <digit>_<anything>.png")
    images = []
    for _, f in files:
        try:
            with Image.open(f) as im:
                images.append(np.asarray(im.convert("L")))
        except (OSError, UnidentifiedImageError) as e:
            raise DataError(f"{f} is not a readable image ({type(e).__name__})") from None
        if images[-1].shape != (28, 28):
            raise DataError(f"{f} is {images[-1].shape[1]}x{images[-1].shape[0]} pixels; digits must be 28x28")
    return np.stack(images), np.array([label for label, _ in files], np.int64)


def checked_samples(path: str, images: np.ndarray | Tensor, labels: np.ndarray | Tensor,
                    stated_range: tuple[float, float] | None) -> tuple[Tensor, Tensor]:
    """`images` as (N, 28, 28) uint8 and `labels` as (N,) int64, or a DataError naming `path` (the images'
    source) and what is wrong; float images are mapped from `stated_range` to 0..255."""
    images = images.detach().cpu().numpy() if isinstance(images, Tensor) else np.asarray(images)
    labels = labels.detach().cpu().numpy() if isinstance(labels, Tensor) else np.asarray(labels)
    if images.ndim == 4 and images.shape[1] == 1:  # (N, 1, 28, 28), as a network outputs them
        images = images[:, 0]
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise DataError(f"{path}: images must be (N, 28, 28) or (N, 1, 28, 28), got {images.shape}")
    if labels.shape != (len(images),) or not np.issubdtype(labels.dtype, np.integer):
        raise DataError(f"{path}: labels must be ({len(images)},) integers, got {labels.shape} {labels.dtype}")
    if len(labels) and (labels.min() < 0 or labels.max() > 9):
        raise DataError(f"{path}: labels must be digits 0-9, got values from {labels.min()} to {labels.max()}")
    if images.dtype == np.uint8:
        return torch.from_numpy(images.copy()), torch.from_numpy(labels.astype(np.int64))
    if not np.issubdtype(images.dtype, np.floating):
        raise DataError(f"{path}: images must be uint8, or float in a stated range; got {images.dtype}")
    found = (float(images.min()), float(images.max())) if images.size else (0.0, 0.0)
    if stated_range is None:
        raise DataError(f"{path}: images are {images.dtype}, values from {found[0]:.3g} to {found[1]:.3g}; state "
                        f"their range: --range={' or --range='.join(VALUE_RANGES)}")
    lo, hi = stated_range
    if found[0] < lo or found[1] > hi or not np.isfinite(images).all():
        raise DataError(f"{path}: images hold values from {found[0]:.3g} to {found[1]:.3g}, outside the stated "
                        f"range [{lo:g}, {hi:g}]")
    unit = (images.astype(np.float64) - lo) / (hi - lo)
    return torch.from_numpy(np.round(unit * 255).astype(np.uint8)), torch.from_numpy(labels.astype(np.int64))
