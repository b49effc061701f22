"""Where derived artefacts (the reference classifier, reference statistics) are cached."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from .files import atomic_write

CACHE_ENV = "HARNESS_CACHE"  # overrides the cache folder (tests point it at a temporary one)


def cache_dir() -> Path:
    """$HARNESS_CACHE, else ~/.cache/harness; created on first use."""
    path = Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "harness")
    path.mkdir(parents=True, exist_ok=True)
    return path


def file_digest(path: Path, chunk: int = 1 << 20) -> str:
    """SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def saved_or_computed(path: Path, compute: Callable[[], Any], valid: Callable[[Any], bool] = lambda _: True) -> Any:
    """What torch saved at `path`, when it loads and `valid` accepts it; else `compute()`, saved there atomically for
    the next process (a missing, cut-short or foreign file is computed again, in seconds)."""
    try:
        value = torch.load(path, map_location="cpu", weights_only=True)
        if valid(value):
            return value
    except Exception:  # missing or unreadable: compute it again
        pass
    value = compute()
    atomic_write(path, lambda f: torch.save(value, f))
    return value
