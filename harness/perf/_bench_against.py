"""`harness bench-against REV` (`make bench-check BASE=REV`): the benchmark suite of a base revision and of this
checkout, run in turns on this one machine and compared in calibration units.

A committed baseline is recorded on one host. Two hosts of one class can differ in how fast a matmul runs beside a
convolution, so a baseline can fail on another host with no code changed (docs/performance.md). Per-benchmark
calibration kernels (harness.perf's calibration) narrow that; measuring the base revision on the same machine in
the same job, as a CI gate should, leaves only the code's own change. Each
revision runs its own suite; benchmarks are matched by name.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .._util import ConfigError, HarnessError, write_json
from ._bench import Comparison, compare, median_run

AGAINST_FOLDER = "against"  # in results/perf/: each revision's runs and their medians
AGAINST_FILE = "against.json"  # in that folder: which revision, and which files are whose (the perf report's input)
RUNS = 3  # runs of the suite per revision; the medians are compared (one run's figure can swing by 60%)


@dataclass(frozen=True)
class Measured:
    """Both sides' runs of the suite, and each side's median run (harness.perf.median_run)."""

    rev: str  # the base revision as given (e.g. origin/main)
    base: Path  # out/base-<commit>.json
    head: Path  # out/head.json
    base_runs: list[Path]  # out/base-<commit>-run<i>.json
    head_runs: list[Path]  # out/head-run<i>.json

    @classmethod
    def in_folder(cls, folder: Path, rev: str, base: str, runs: int) -> Measured:
        """The files of a run of `runs` turns against `base` ('base-<commit>') in `folder`: the one layout that
        bench_against writes and read_measured reads."""
        return cls(rev, folder / f"{base}.json", folder / "head.json",
                   [folder / f"{base}-run{i}.json" for i in range(1, runs + 1)],
                   [folder / f"head-run{i}.json" for i in range(1, runs + 1)])

    def rows(self) -> list[Comparison]:
        """Each benchmark of this checkout against the base revision, with the rank test of the runs."""
        return compare(self.head, self.base, (self.head_runs, self.base_runs))


def bench_against(rev: str, out: Path, runs: int = RUNS, device: str = "cpu", select: str | None = None,
                  repo: Path = Path(".")) -> Measured:
    """Run the suite of `rev` (checked out into a temporary git worktree) and of the checkout at `repo` (with its
    uncommitted changes) `runs` times each, taking turns so that a drift in the machine's speed reaches both;
    with `select`, only the benchmarks pytest's `-k` expression picks. Write each revision's median run to
    out/base-<commit>.json and out/head.json."""
    if runs < 1:
        raise ConfigError(f"--runs is how often each revision's suite runs: a positive whole number (got {runs})")
    repo = _work_tree(repo)
    commit = _commit(repo, rev)
    out.mkdir(parents=True, exist_ok=True)
    base = f"base-{commit[:12]}"
    m = Measured.in_folder(out, rev, base, runs)
    with tempfile.TemporaryDirectory(prefix="harness-bench-base-") as tmp:
        base_tree = Path(tmp) / "tree"
        _git(repo, "worktree", "prune")  # forget the worktree of a run that was killed before its clean-up
        _git(repo, "worktree", "add", "--detach", "--quiet", str(base_tree), commit)
        try:
            for i, run_files in enumerate(zip(m.base_runs, m.head_runs), 1):
                for name, tree, path in zip((base, "head"), (base_tree, repo), run_files):
                    print(f"bench-against: {name} ({tree}), run {i} of {runs}", flush=True)
                    _run_suite(tree, path, device, select)
        finally:
            _git(repo, "worktree", "remove", "--force", str(base_tree))
    write_json(m.base, median_run(m.base_runs))
    write_json(m.head, median_run(m.head_runs))
    write_json(out / AGAINST_FILE, {"rev": rev, "commit": commit, "base": base, "runs": runs})
    return m


def read_measured(folder: Path) -> Measured:
    """The last bench-against run whose files are in `folder` (results/perf/against/)."""
    record = json.loads((folder / AGAINST_FILE).read_text())
    return Measured.in_folder(folder, record["rev"], record["base"], int(record["runs"]))


def _run_suite(tree: Path, json_path: Path, device: str, select: str | None) -> None:
    """One run of `tree`'s benchmark suite, its own `harness` package imported (not the installed checkout's)."""
    argv = [sys.executable, "-m", "pytest", "tests/benchmarks", "-q", "-p", "no:cacheprovider", "--benchmark-enable",
            "--benchmark-only", "--bench-device", device, f"--benchmark-json={json_path.resolve()}",
            *(["-k", select] if select else [])]
    # a fresh session: an xdist worker's variables (bench-against run from a test) would switch benchmarks off
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_XDIST", "PYTEST_CURRENT_TEST"))}
    env["PYTHONPATH"] = os.pathsep.join([str(tree.resolve()), os.environ.get("PYTHONPATH", "")])
    done = subprocess.run(argv, cwd=tree, env=env)
    if done.returncode != 0:
        raise HarnessError(f"the benchmark suite of {tree} failed (pytest exit {done.returncode}; its output is "
                           f"above): nothing to compare")


def _work_tree(repo: Path) -> Path:
    """The root of the git checkout holding `repo`, or a message saying this needs one."""
    try:
        return Path(_git(repo, "rev-parse", "--show-toplevel"))
    except HarnessError:
        raise ConfigError(f"bench-against checks out a base revision beside this one: it needs a git checkout, and "
                          f"{repo.resolve()} is not in one; compare with a committed baseline instead: "
                          f"make bench-check") from None


def _commit(repo: Path, rev: str) -> str:
    """The full commit id `rev` names in `repo`, or a message naming what would be right."""
    try:
        return _git(repo, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    except HarnessError:
        raise ConfigError(f"BASE={rev} names no commit of {repo}: give a branch, tag or commit it has, e.g. "
                          f"origin/main or HEAD~1 (a shallow CI clone may need `git fetch origin main` first)") from None


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise HarnessError(f"git {' '.join(args)} failed in {repo}: {done.stderr.strip()}")
    return done.stdout.strip()
