"""Nothing the harness reads can run code: every torch.load is weights_only, YAML is safe, pickles are arrays-only."""

from __future__ import annotations

import gzip
import pickle
import re
from pathlib import Path

import pytest

from harness._util import DataError
from harness.config import DataConfig
from harness.data import load_mnist

SOURCES = sorted((Path(__file__).resolve().parents[2] / "harness").rglob("*.py"))


def calls(pattern: str) -> list[str]:
    found = []
    for path in SOURCES:
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(pattern, line):
                found.append(f"{path.name}:{n}: {line.strip()}")
    return found


def test_every_torch_load_is_weights_only() -> None:
    loads = calls(r"torch\.load\(")
    assert loads and all("weights_only=True" in line for line in loads), loads


def test_yaml_is_only_ever_safe_loaded() -> None:
    assert calls(r"yaml\.(load|unsafe_load|full_load)\(") == []
    assert calls(r"yaml\.safe_load\(")


def test_no_plain_unpickling() -> None:
    assert calls(r"pickle\.loads?\(") == []  # data.py unpickles through _ArraysOnly, which admits numpy arrays only


def test_a_data_file_that_would_run_code_is_refused(tmp_path: Path) -> None:
    class Payload:
        def __reduce__(self) -> tuple:
            return (print, ("this must never run",))

    path = tmp_path / "evil.pkl.gz"
    path.write_bytes(gzip.compress(pickle.dumps(Payload())))
    with pytest.raises(DataError, match="builtins.print is not allowed in a data file"):
        load_mnist(DataConfig(path=str(path)))
