"""Device choice: CUDA when present (with bfloat16 autocast), else CPU."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

from .errors import ConfigError


def resolve_device(name: str) -> torch.device:
    """'auto' -> cuda if visible else cpu; 'cuda' without a GPU is an error, not a silent fallback."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("train.device=cuda but no CUDA device is visible; use train.device=auto or cpu")
    return torch.device(name)


@contextlib.contextmanager
def autocast(device: torch.device, enabled: bool) -> Iterator[None]:
    """bfloat16 autocast on CUDA when `enabled`; a no-op on CPU (fp32 is faster there)."""
    if enabled and device.type == "cuda":
        with torch.autocast("cuda", dtype=torch.bfloat16):
            yield
    else:
        yield


def memory_format(device: torch.device) -> torch.memory_format:
    """channels-last on CUDA (faster convolutions); contiguous on CPU, where GroupNorm's channels-last
    kernel is up to 9x slower (measured at (128, 32, 16, 16) with torch 2.15)."""
    return torch.channels_last if device.type == "cuda" else torch.contiguous_format
