"""Sample files (.npz): `images` (N, 28, 28) uint8 and `labels` (N,) integer digits."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from .._util import DataError, atomic_write


def save_samples(path: Path, images: Tensor, labels: Tensor) -> None:
    atomic_write(path, lambda f: np.savez_compressed(f, images=images.numpy().astype(np.uint8),
                                                     labels=labels.numpy().astype(np.int64)))


def load_samples(path: Path) -> tuple[Tensor, Tensor]:
    """(images (N, 28, 28) uint8, labels (N,) int64); anything else is a DataError saying what is wrong."""
    if Path(path).is_file() and not zipfile.is_zipfile(path):  # np.load would guess "pickled data" for any other file
        raise DataError(f"{path} is not an .npz archive; write one with `harness sample RUN --out FILE.npz`")
    try:
        with np.load(path, allow_pickle=False) as data:
            if "images" not in data or "labels" not in data:
                raise DataError(f"{path} must hold arrays 'images' and 'labels'; it holds {sorted(data.files)}")
            images, labels = data["images"], data["labels"]
    except (OSError, ValueError) as e:
        raise DataError(f"{path} is not a readable .npz sample file ({type(e).__name__}: {e})") from None
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (28, 28):
        raise DataError(f"{path}: images must be (N, 28, 28) uint8, got {images.shape} {images.dtype}")
    if labels.shape != (len(images),) or not np.issubdtype(labels.dtype, np.integer):
        raise DataError(f"{path}: labels must be ({len(images)},) integers, got {labels.shape} {labels.dtype}")
    if len(labels) and (labels.min() < 0 or labels.max() > 9):
        raise DataError(f"{path}: labels must be digits 0-9, got values from {labels.min()} to {labels.max()}")
    return torch.from_numpy(images.copy()), torch.from_numpy(labels.astype(np.int64))
