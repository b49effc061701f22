"""The dashboard: optuna-dashboard on a study's storage, and the artifacts each trial carries there.

Every finished trial attaches its sample grid and its training curves to Optuna's file-system artifact store in
results/<study>/artifacts/, so the dashboard's artifact viewer shows them beside the trial's parameters and
metrics. optuna-dashboard itself is an optional extra (`pip install -e '.[dashboard]'`).
"""

from __future__ import annotations

import importlib.util
import shutil
import socket
import tempfile
from pathlib import Path

import optuna
import pandas as pd
from optuna.artifacts import FileSystemArtifactStore, get_all_artifact_meta, upload_artifact
from optuna.storages import BaseStorage
from optuna.trial import FrozenTrial, TrialState

from .._util import ConfigError
from ._plots import run_curves

ARTIFACTS = "artifacts"  # results/<study>/artifacts/: the study's Optuna artifact store
SAMPLES = "samples.png"  # a trial folder's sample grid (row d: digit d)
CURVES = "training.png"  # a run folder's training curves, drawn for the dashboard
INSTALL = "pip install -e '.[dashboard]'"


def trial_folder(folder: Path, number: int) -> Path:
    """results/<study>/trials/<number>: a trial's config, metrics and pictures."""
    return folder / "trials" / f"{number:04d}"


def artifact_store(folder: Path) -> FileSystemArtifactStore:
    path = folder / ARTIFACTS
    path.mkdir(parents=True, exist_ok=True)
    return FileSystemArtifactStore(str(path))


def attach_artifacts(trial: optuna.Trial | FrozenTrial, storage: BaseStorage, folder: Path, run_dir: Path) -> list[str]:
    """Attach the trial's sample grid and its network's training curves (drawn once per trained network, from its
    train_log.csv, and shared by the trials that sample it) where not attached yet; returns the names attached."""
    curves = run_dir / CURVES
    if not curves.is_file() and (run_dir / "train_log.csv").is_file():
        run_curves(pd.read_csv(run_dir / "train_log.csv"), f"training of network {run_dir.name}", curves)
    attached = {meta.filename for meta in get_all_artifact_meta(trial, storage=storage)}
    new = [p for p in (trial_folder(folder, trial.number) / SAMPLES, curves) if p.is_file() and p.name not in attached]
    store = artifact_store(folder) if new else None
    for path in new:
        upload_artifact(artifact_store=store, file_path=str(path), study_or_trial=trial, storage=storage)
    return [path.name for path in new]


def attach_missing_artifacts(study: optuna.Study, storage: BaseStorage, folder: Path) -> int:
    """Studies run before trials attached their pictures: Optuna cannot change a finished trial, so each such
    trial's sample grid goes to the study's own artifacts as trial-<number>-samples.png (once); returns how many."""
    attached = {meta.filename for meta in get_all_artifact_meta(study, storage=storage)}
    store, added = artifact_store(folder), 0
    for trial in study.get_trials(deepcopy=False, states=[TrialState.COMPLETE]):
        grid, name = trial_folder(folder, trial.number) / SAMPLES, f"trial-{trial.number:04d}-{SAMPLES}"
        if grid.is_file() and name not in attached and not get_all_artifact_meta(trial, storage=storage):
            with tempfile.TemporaryDirectory() as tmp:  # the artifact's name is its file's name
                shutil.copyfile(grid, Path(tmp) / name)
                upload_artifact(artifact_store=store, file_path=str(Path(tmp) / name), study_or_trial=study,
                                storage=storage)
            added += 1
    return added


def require_dashboard() -> None:
    """optuna-dashboard is an optional extra: without it, one line saying how to install it."""
    if importlib.util.find_spec("optuna_dashboard") is None:
        raise ConfigError(f"harness dashboard needs optuna-dashboard, an optional extra; install it with `{INSTALL}` "
                          f"(or run `make dashboard STUDY=...`, which does)")


def check_listenable(host: str, port: int) -> None:
    """The dashboard's address can be listened on (checked before anything is attached or started)."""
    try:
        with socket.create_server((host, port)):
            pass
    except OSError as e:
        raise ConfigError(f"cannot listen on {host}:{port} ({e.strerror or e}); give --port another port, or --host "
                          f"an address of this machine") from None


def serve_dashboard(storage: BaseStorage, folder: Path, host: str, port: int) -> None:
    """optuna-dashboard on `storage` with the study's artifact store, until Ctrl-C."""
    require_dashboard()
    from optuna_dashboard import run_server  # the optional extra, checked above

    run_server(storage, host=host, port=port, artifact_store=artifact_store(folder))
