"""Atomic file writes: a reader sees the old file or the new one, never half of one."""

from __future__ import annotations

import json
import os
import socket
import tempfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

TMP_SUFFIX = ".tmp"


def atomic_write(path: str | os.PathLike[str], write: Callable[[IO[bytes]], None]) -> None:
    """Call `write` on a temporary file beside `path`, flush it to disk, then rename it over `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # the writer's host and pid in the name let a later run sweep what a killed writer left (sweep_partial_files)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{_writer()}.", suffix=TMP_SUFFIX)
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp's 0600 would hide results from other users
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def partial_files(folder: Path) -> list[Path]:
    """Temporary files of atomic_write under `folder`: present only while a write runs or after a writer was killed."""
    return sorted(folder.rglob(f".*{TMP_SUFFIX}")) if folder.is_dir() else []


def sweep_partial_files(folder: Path) -> int:
    """Delete the temporary files under `folder` whose writer process on this host is gone; returns how many."""
    swept = 0
    host, _, _ = _writer().partition("-")
    for tmp in partial_files(folder):
        writer_host, _, pid = (tmp.name.split(".")[-3] if tmp.name.count(".") >= 3 else "").partition("-")
        if writer_host == host and pid.isdigit() and not _alive(int(pid)):
            tmp.unlink(missing_ok=True)
            swept += 1
    return swept


def _writer() -> str:
    """'<host hash>-<pid>': names this process among the writers that may share a results folder."""
    return f"{zlib.crc32(socket.gethostname().encode()):08x}-{os.getpid()}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text(path: str | os.PathLike[str], text: str) -> None:
    atomic_write(path, lambda f: f.write(text.encode("utf-8")))


def write_json(path: str | os.PathLike[str], data: Any) -> None:
    write_text(path, json.dumps(data, indent=2, sort_keys=False) + "\n")
