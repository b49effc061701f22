from __future__ import annotations

from pathlib import Path

import pytest

from harness._util import atomic_write, partial_files, sweep_partial_files, write_text
from harness._util.files import _writer


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    write_text(tmp_path / "a.json", "old")

    def fail(f: object) -> None:
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_write(tmp_path / "a.json", fail)
    assert (tmp_path / "a.json").read_text() == "old"
    assert partial_files(tmp_path) == []


def test_sweep_removes_what_a_dead_writer_of_this_host_left_and_keeps_live_and_foreign_ones(tmp_path: Path) -> None:
    this_host = _writer().partition("-")[0]
    dead = tmp_path / "sub" / f".metrics.json.{this_host}-999999999.abc.tmp"  # no such pid
    live = tmp_path / f".report.md.{_writer()}.abd.tmp"  # this very process
    foreign = tmp_path / ".report.md.ffffffff-1.abe.tmp"  # another host: its writer may be alive
    for p in (dead, live, foreign):
        p.parent.mkdir(exist_ok=True)
        p.write_text("half")
    assert sweep_partial_files(tmp_path) == 1
    assert partial_files(tmp_path) == sorted([live, foreign])
