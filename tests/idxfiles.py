"""Writing LeCun's IDX files, as the data sets ship them (tests of the IDX reader write real files, not mocks)."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np


def write_idx(folder: Path, name: str, array: np.ndarray, compress: bool) -> None:
    """`array` as folder/name (uint8 IDX: magic 0, 0, 0x08, ndim; big-endian dims; the bytes), gzip'd as name.gz."""
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    data = header + array.astype(np.uint8).tobytes()
    if compress:
        (folder / f"{name}.gz").write_bytes(gzip.compress(data, compresslevel=1))
    else:
        (folder / name).write_bytes(data)
