from __future__ import annotations

from pathlib import Path

from harness.reliability import changes, snapshot


def test_changes_names_added_removed_and_changed_files(tmp_path: Path) -> None:
    (tmp_path / "a").write_text("1")
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "b").write_text("2")
    before = snapshot(tmp_path)
    assert changes(before, snapshot(tmp_path)) == []
    (tmp_path / "a").write_text("changed")
    (tmp_path / "d" / "b").unlink()
    (tmp_path / "c").write_text("3")
    assert changes(before, snapshot(tmp_path)) == ["added c", "removed d/b", "changed a"]
