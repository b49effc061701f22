"""`harness dashboard`: a grid study's trials carry their factors, recorded metric and pictures in Optuna's own
terms, and optuna-dashboard, started by the command, renders them in a real (headless Chromium) browser."""

from __future__ import annotations

import importlib.util
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import warnings
from pathlib import Path

import optuna
import pytest
from optuna.artifacts import get_all_artifact_meta

from harness.cli import main
from harness.studies import (
    ARTIFACTS,
    StudySpec,
    existing_storage,
    load_spec,
    read_spec_json,
    recorded_metric,
    run_study,
    spec_from_json,
    study_metric,
)

SPEC = """name: dash
description: two guidance scales of two networks, for the dashboard
base: {preset: baseline, set: ["train.steps=10", "train.val_every=5", "train.checkpoint_every=5",
       "train.val_images=32", "sample.grid_per_class=2", "eval.samples_per_class=2"]}
vary:
  model.attention_resolutions: [[], [7]]
  sample.guidance: [1.0, 3.0]
seeds: [0]
budget: smoke
metrics: [class_acc]
"""
BROWSERS = ("chromium-headless-shell", "chromium", "chromium-browser", "google-chrome")


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, optuna.Study]:
    """The four-trial smoke study, run in-process; (results root, study)."""
    root = tmp_path_factory.mktemp("dash")
    (root / "dash.yaml").write_text(SPEC)
    results = root / "results"
    return results, run_study(load_spec(root / "dash.yaml"), results, progress=False)


def test_grid_trials_carry_their_factors_metric_name_and_pictures(study: tuple[Path, optuna.Study]) -> None:
    results, s = study
    assert s.metric_names == ["class_acc"] and s.direction == optuna.study.StudyDirection.MAXIMIZE
    trials = s.get_trials(states=[optuna.trial.TrialState.COMPLETE])
    seen = {(t.params["model.attention_resolutions"], t.params["sample.guidance"]) for t in trials}
    assert seen == {("[]", 1.0), ("[]", 3.0), ("[7]", 1.0), ("[7]", 3.0)}  # a list-valued factor as its JSON text
    for t in trials:
        assert t.value == t.user_attrs["class_acc"]
        metas = get_all_artifact_meta(t, storage=s._storage)
        assert sorted(m.filename for m in metas) == ["samples.png", "training.png"]
        for meta in metas:  # the stored bytes are the trial's PNG files
            assert (results / "dash" / ARTIFACTS / meta.artifact_id).read_bytes()[:4] == b"\x89PNG"


def test_a_study_run_before_trials_carried_pictures_gets_its_grids_as_study_artifacts(
        study: tuple[Path, optuna.Study], tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    results, s = study
    folder = tmp_path / "results" / "dash"  # the same trials as an older harness stored them: no artifacts
    shutil.copytree(results / "dash", folder, ignore=shutil.ignore_patterns(ARTIFACTS, "study.db*"))
    older = optuna.create_study(study_name="dash", storage=f"sqlite:///{folder / 'study.db'}")
    for t in s.get_trials(states=[optuna.trial.TrialState.COMPLETE]):
        older.add_trial(optuna.trial.create_trial(params=t.params, distributions=t.distributions, value=t.value,
                                                  user_attrs=t.user_attrs))
    monkeypatch.setattr("optuna_dashboard.run_server", lambda *args, **kwargs: None)  # all but serving
    assert main(["dashboard", "dash", "--results", str(folder.parent), "--port", str(free_port())]) == 0
    assert "4 trials ran before trials carried their pictures" in capsys.readouterr().out
    storage = existing_storage(spec_from_json(read_spec_json(folder / "spec.json")), folder, None)
    names = sorted(m.filename for m in get_all_artifact_meta(older, storage=storage))
    assert names == [f"trial-{n:04d}-samples.png" for n in range(4)]
    assert main(["dashboard", "dash", "--results", str(folder.parent), "--port", str(free_port())]) == 0
    assert "trials ran before" not in capsys.readouterr().out  # attached once


def test_without_optuna_dashboard_one_line_says_how_to_install_it(
        study: tuple[Path, optuna.Study], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    results, _ = study
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "optuna_dashboard" else real(name, *a))
    before = sorted(p.name for p in (results / "dash").rglob("*"))
    assert main(["dashboard", "dash", "--results", str(results)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "pip install -e '.[dashboard]'" in err[0]
    assert sorted(p.name for p in (results / "dash").rglob("*")) == before


def test_a_port_in_use_is_one_line(study: tuple[Path, optuna.Study], capsys: pytest.CaptureFixture[str]) -> None:
    results, _ = study
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        assert main(["dashboard", "dash", "--results", str(results), "--port", str(port)]) == 2
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err


def test_the_dashboard_renders_the_trials_and_a_sample_grid_in_a_real_browser(
        study: tuple[Path, optuna.Study], tmp_path: Path) -> None:
    browser = next((b for b in map(shutil.which, BROWSERS) if b), None)
    if browser is None:
        pytest.skip("no Chromium on this machine: `apt-get install chromium-headless-shell` (CI's .ci/run installs it)")
    results, _ = study
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "harness.cli", "dashboard", "dash", "--results", str(results),
                               "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(f"{base}/api/studies", server)
        page = f"{base}/dashboard/studies/1/trials"
        dom = run_browser(browser, "--dump-dom", page)
        assert all(f"Trial {n}" in dom for n in range(4)), dom[-2000:]
        assert "samples.png" in dom and "training.png" in dom and "model.attention_resolutions" in dom
        sources = re.findall(r'src="(/artifacts/[^"]+)"', dom)
        assert sources, "the trial's artifacts are not shown as images"
        with urllib.request.urlopen(base + sources[0], timeout=30) as response:  # the image the page asks for
            assert response.status == 200 and response.read()[:4] == b"\x89PNG"
        shot = tmp_path / "dashboard-trials.png"  # kept with the test's temporary files for a person to look at
        run_browser(browser, f"--screenshot={shot}", "--window-size=1400,1000", page)
        assert shot.read_bytes()[:4] == b"\x89PNG" and shot.stat().st_size > 20_000
    finally:
        server.terminate()
        server.communicate(timeout=30)


def run_browser(browser: str, *args: str) -> str:
    """Headless Chromium on one page, the page's scripts given virtual time to fetch and render the study."""
    done = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=20000",
                           *args], capture_output=True, text=True, timeout=120)
    return done.stdout


def wait_for(url: str, server: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"harness dashboard exited {server.returncode}: {server.communicate()[0][-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"{url} did not answer in {timeout:.0f} s")


def free_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as s:
        return s.getsockname()[1]


def test_a_grid_whose_recorded_metric_is_unavailable_completes_with_its_step(tmp_path: Path) -> None:
    """clip without local weights reports itself unavailable: the trial completes (as before grids named their
    value), records its step as Optuna's value, and says so."""
    (tmp_path / "clip.yaml").write_text(SPEC.replace("name: dash", "name: noclip").replace(
        "metrics: [class_acc]", "metrics: [clip]").replace("model.attention_resolutions: [[], [7]]\n", ""))
    s = run_study(load_spec(tmp_path / "clip.yaml"), tmp_path / "results", progress=False)
    assert s.metric_names == ["clip_score"]
    for t in s.trials:
        assert t.state == optuna.trial.TrialState.COMPLETE and t.value == 10  # the smoke run's last step
        assert t.user_attrs["recorded_value"] == "step (clip_score was not measured)"


def test_a_grid_records_a_sample_metric_and_a_study_keeps_the_metric_it_began_with(tmp_path: Path) -> None:
    """FID or accuracy, not mse (shared by every sampling variant), ranks a grid's trials in the dashboard; a
    study stored with another recorded metric keeps it, so its trials' values never mix two metrics."""
    def spec(metrics: str) -> StudySpec:
        (tmp_path / "s.yaml").write_text(SPEC.replace("metrics: [class_acc]", f"metrics: [{metrics}]"))
        return load_spec(tmp_path / "s.yaml")

    assert recorded_metric(spec("mse, class_acc, fid")) == "fid"
    assert recorded_metric(spec("mse, class_acc")) == "class_acc"
    assert recorded_metric(spec("mse, speed")) == "mse"
    old = optuna.create_study(study_name="dash", storage=f"sqlite:///{tmp_path / 'old.db'}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)  # as the harness itself sets it
        old.set_metric_names(["mse"])
    assert study_metric(old, spec("mse, class_acc, fid")) == "mse"
    fresh = optuna.create_study(study_name="dash", storage=f"sqlite:///{tmp_path / 'new.db'}")
    assert study_metric(fresh, spec("mse, class_acc, fid")) == "fid"
