"""What a folder holds, by content: to show that a command changed nothing on disk."""

from __future__ import annotations

import hashlib
from pathlib import Path


def snapshot(root: Path) -> dict[str, str]:
    """Relative path -> sha256 of every file under `root` ('dir' for folders)."""
    out = {}
    for path in sorted(root.rglob("*")):
        key = path.relative_to(root).as_posix()
        out[key] = "dir" if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def changes(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """'added X', 'removed X', 'changed X' for every difference between two snapshots."""
    added = [f"added {p}" for p in after if p not in before]
    removed = [f"removed {p}" for p in before if p not in after]
    changed = [f"changed {p}" for p in before if p in after and before[p] != after[p]]
    return added + removed + changed
