"""Where derived artefacts (the reference classifier, reference statistics) are cached."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

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
