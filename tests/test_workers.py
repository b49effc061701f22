"""--workers N on SQLite and PostgreSQL; a worker killed with SIGKILL mid-trial, then a re-run."""

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import optuna
import pytest
from postgres import postgres_server
from studyspecs import GRID, write_spec

from harness._util import ConfigError
from harness.cli import main
from harness.studies import WORKER, StudySpec, load_existing_study, load_spec, open_study

CELLS = Counter({(p, s): 1 for p in range(2) for s in (0, 1)})  # every cell of GRID, exactly once


def complete_cells(study: optuna.Study) -> Counter:
    return Counter((t.params["point"], t.params["seed"]) for t in study.get_trials() if t.state.name == "COMPLETE")


def assert_nothing_half_written(results: Path) -> None:
    assert not [p for p in results.rglob("*.tmp")], "a temporary file was left behind"
    for path in results.rglob("metrics.json"):
        json.loads(path.read_text())


def test_two_workers_on_sqlite_run_every_trial_exactly_once(tmp_path: Path) -> None:
    spec_path = write_spec(tmp_path, GRID)
    assert main(["ablate", str(spec_path), "--results", str(tmp_path / "r"), "--workers", "2", "--quiet"]) == 0
    study = open_study(load_spec(spec_path), tmp_path / "r", None)
    assert complete_cells(study) == CELLS
    workers = {t.user_attrs[WORKER] for t in study.get_trials() if t.state.name == "COMPLETE"}
    assert len(workers) == 2  # both processes took trials
    assert_nothing_half_written(tmp_path / "r")


def test_two_workers_on_postgresql_run_every_trial_exactly_once(tmp_path: Path) -> None:
    spec_path = write_spec(tmp_path, GRID)
    with postgres_server() as url:
        assert main(["ablate", str(spec_path), "--results", str(tmp_path / "r"), "--workers", "2", "--storage", url,
                     "--quiet"]) == 0
        study = open_study(load_spec(spec_path), tmp_path / "r", url)
        assert complete_cells(study) == CELLS
        assert len(study.get_trials()) == 4
    assert not (tmp_path / "r" / "skiptest" / "study.db").exists()
    assert "4 complete of 4" in (tmp_path / "r" / "skiptest" / "report.md").read_text()


def test_a_worker_killed_mid_trial_loses_nothing_after_a_rerun(tmp_path: Path) -> None:
    text = GRID.replace("train.steps=6, train.val_every=3, train.checkpoint_every=3",
                        "train.steps=60, train.val_every=20, train.checkpoint_every=10")  # killed after step 10
    spec_path = write_spec(tmp_path, text)
    results = tmp_path / "r"
    cmd = [sys.executable, "-m", "harness.cli", "ablate", str(spec_path), "--results", str(results), "--workers", "2",
           "--quiet"]
    runner = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    killed = _kill_a_worker_after_its_first_checkpoint(load_spec(spec_path), results / "skiptest", runner)
    output, _ = runner.communicate(timeout=600)
    assert runner.returncode == 2 and "exit code -9" in output and "run the same command again" in output

    assert main(["ablate", str(spec_path), "--results", str(results), "--quiet"]) == 0
    study = optuna.load_study(study_name="skiptest", storage=f"sqlite:///{results / 'skiptest' / 'study.db'}")
    assert complete_cells(study) == CELLS
    states = Counter(t.state.name for t in study.get_trials())
    assert states == Counter({"COMPLETE": 4, "FAIL": 1}) and killed in {t.number for t in study.get_trials() if t.state.name == "FAIL"}
    assert_nothing_half_written(results)
    assert "interrupted (retried)" in (results / "skiptest" / "report.md").read_text()


def _kill_a_worker_after_its_first_checkpoint(spec: StudySpec, folder: Path, runner: subprocess.Popen,
                                              timeout: float = 300) -> int:
    """SIGKILL the worker of a running trial once its run folder holds a checkpoint; returns the trial number."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(0.2)
        if runner.poll() is not None:
            pytest.fail(f"the study ended (exit {runner.returncode}) before a kill: {runner.communicate()[0][-2000:]}")
        try:  # the harness's own loader: the runner may still be creating the tables
            study = load_existing_study(spec, folder, None)
        except ConfigError:  # no study.db yet, or no study in it yet
            continue
        for t in study.get_trials(states=[optuna.trial.TrialState.RUNNING]):
            run = t.user_attrs.get("run")
            if WORKER in t.user_attrs and run and (folder / run / "checkpoint.pt").is_file():
                os.kill(int(t.user_attrs[WORKER].rpartition(":")[2]), signal.SIGKILL)
                return t.number
    pytest.fail("no trial reached its first checkpoint")
