"""bench-against: a base revision's suite and this checkout's, run in turns on one machine; a deliberate slowdown
in the checkout fails the check, and bad input is one line that writes nothing."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from harness._util import ConfigError
from harness.cli import main
from harness.perf import bench_against, write_perf_report

ROOT = Path(__file__).parent.parent
DATA = "data_loading"  # the suite's path on one benchmark of about a second, not the suite's minutes
# appended to harness/runs/_train.py of a clone: every batch the data path serves is drawn four times over, its
# shuffle redone each time. CPU work, not a sleep: a busy machine slows it as it slows the benchmark's calibration
# kernel (the same shuffle), so the calibrated figure keeps the slowdown; a sleep would be divided away by a kernel
# that a neighbouring test slowed.
SLOWDOWN = '''

_served = Batches.__call__


def _served_late(self, step):  # a deliberate slowdown, for tests/test_bench_against.py
    for _ in range(3):
        self._epoch = -1  # forget the epoch's order: the next call shuffles again
        _served(self, step)
    self._epoch = -1
    return _served(self, step)


Batches.__call__ = _served_late
'''


def clone(tmp_path: Path) -> Path:
    """A clone of this checkout's committed HEAD, to change without touching the checkout."""
    path = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(path)], check=True)
    return path


@pytest.mark.slow
def test_a_deliberate_slowdown_in_the_checkout_fails_against_its_base_revision(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    tree = clone(tmp_path)
    with (tree / "harness" / "runs" / "_train.py").open("a") as f:
        f.write(SLOWDOWN)
    monkeypatch.chdir(tree)
    results = tmp_path / "results"
    assert main(["bench-against", "HEAD", "--runs", "1", "-k", DATA, "--results", str(results), "--check"]) == 1
    out, err = capsys.readouterr()
    assert [line for line in out.splitlines() if "REGRESSED" in line][0].startswith(
        "| test_data_loading_one_epoch_of_batches | ")
    assert "test_data_loading_one_epoch_of_batches" in err
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=tree, capture_output=True, text=True).stdout.strip()
    assert {p.name for p in (results / "perf" / "against").iterdir()} == {
        f"base-{head[:12]}-run1.json", f"base-{head[:12]}.json", "head-run1.json", "head.json", "against.json"}
    worktrees = subprocess.run(["git", "worktree", "list"], cwd=tree, capture_output=True, text=True).stdout
    assert len(worktrees.splitlines()) == 1  # the base revision's checkout is gone again
    report = write_perf_report(results, tree / "tests" / "benchmarks" / "baselines", results / "none", results / "none")
    section = report.read_text().split("## The gate against a base revision on this machine")[1].split("\n## ")[0]
    assert "`make bench-check BASE=HEAD`" in section and "| test_data_loading_one_epoch_of_batches |" in section
    assert "REGRESSED" in section and "Mann-Whitney" in section


def test_a_revision_the_checkout_lacks_is_one_line_and_writes_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench-against", "no-such-branch", "--results", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "BASE=no-such-branch names no commit" in err and "origin/main" in err
    assert list(tmp_path.iterdir()) == []


def test_outside_a_git_checkout_it_says_what_to_use_instead(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="needs a git checkout.*make bench-check"):
        bench_against("HEAD", tmp_path / "out", repo=tmp_path)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("argv, message", [(["--runs", "0"], "--runs is how often"),
                                           (["--tolerance", "0"], "--tolerance must be > 0")])
def test_bad_options_fail_before_any_run(tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str],
                                         message: str) -> None:
    assert main(["bench-against", "HEAD", *argv, "--results", str(tmp_path)]) == 2
    assert message in capsys.readouterr().err and list(tmp_path.iterdir()) == []


def test_the_command_line_default_is_the_module_s() -> None:
    from harness.cli import _bench
    from harness.perf import _bench_against as module

    assert _bench.BENCH_RUNS == module.RUNS  # cli keeps its own copy so that light commands skip this import
