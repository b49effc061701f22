"""The study runner: a spec's grid x seeds as an Optuna study (GridSampler) in SQLite or any SQLAlchemy URL.

Re-running a study skips the trials that finished. Trials whose configs differ only in sample.* or
eval.* settings share one trained checkpoint (results/<study>/runs/<hash>/).
"""

from __future__ import annotations

import dataclasses
import json
import warnings
from pathlib import Path
from typing import Any

import optuna
from optuna.exceptions import ExperimentalWarning
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback
from optuna.trial import TrialState

from .config import RunConfig, config_hash, config_to_dict
from .errors import ConfigError
from .evaluate import evaluate
from .files import write_json
from .spec import StudySpec
from .train import train

HEARTBEAT_S = 60  # a trial whose worker stops beating for GRACE_S is failed and retried
GRACE_S = 180
MAX_RETRY = 3


def study_dir(spec: StudySpec, results: Path) -> Path:
    return results / spec.name


def open_study(spec: StudySpec, results: Path, storage: str | None) -> optuna.Study:
    """The spec's Optuna study, created or loaded; a folder holding a different spec is refused."""
    folder = study_dir(spec, results)
    folder.mkdir(parents=True, exist_ok=True)
    _claim(folder, spec)
    url = storage or f"sqlite:///{(folder / 'study.db').resolve()}"
    with warnings.catch_warnings():  # heartbeats are marked experimental in Optuna 5
        warnings.simplefilter("ignore", ExperimentalWarning)
        rdb = RDBStorage(url, heartbeat_interval=HEARTBEAT_S, grace_period=GRACE_S,
                         heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRY))
    space = {"point": list(range(len(spec.points()))), "seed": list(spec.seeds)}
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.create_study(study_name=spec.name, storage=rdb, sampler=optuna.samplers.GridSampler(space, seed=0),
                               direction="minimize", load_if_exists=True)


def _claim(folder: Path, spec: StudySpec) -> None:
    """Write spec.json once; refuse a second, different spec that would mix its results into this folder."""
    path = folder / "spec.json"
    mine = json.loads(json.dumps(dataclasses.asdict(spec)))
    if path.is_file():
        theirs = json.loads(path.read_text())
        if theirs != mine:
            raise ConfigError(f"{folder} holds results of a different spec named {spec.name!r}; rename the study "
                              f"or remove that folder")
        return
    write_json(path, mine)


def remaining_trials(study: optuna.Study, spec: StudySpec) -> int:
    """Grid cells without a finished trial, plus retries waiting to run."""
    finished = {t.system_attrs.get("grid_id") for t in study.get_trials(deepcopy=False) if t.state.is_finished()}
    waiting = sum(t.state == TrialState.WAITING for t in study.get_trials(deepcopy=False))
    return len(spec.points()) * len(spec.seeds) - len(finished - {None}) + waiting


def run_study(spec: StudySpec, results: Path = Path("results"), storage: str | None = None,
              progress: bool = True) -> optuna.Study:
    """Run every trial of the grid that has not finished yet, then return the study."""
    study = open_study(spec, results, storage)
    todo = remaining_trials(study, spec)
    if todo:
        study.optimize(_Objective(spec, study_dir(spec, results), progress), n_trials=todo)
    return study


class _Objective:
    """One trial: train (or reuse) the grid point's network for the seed, evaluate, record the metrics."""

    def __init__(self, spec: StudySpec, folder: Path, progress: bool) -> None:
        self.spec, self.folder, self.progress = spec, folder, progress
        self.points = spec.points()
        self.total = len(self.points) * len(spec.seeds)

    def __call__(self, trial: optuna.Trial) -> float:
        point = trial.suggest_categorical("point", list(range(len(self.points))))
        seed = trial.suggest_categorical("seed", list(self.spec.seeds))
        cfg = self.spec.config(self.points[point], seed)
        train_cfg = self._training_part(cfg, seed)
        run_dir = self.folder / "runs" / config_hash(train_cfg)
        trial_dir = self.folder / "trials" / f"{trial.number:04d}"
        write_json(trial_dir / "config.json", config_to_dict(cfg))
        trial.set_user_attr("run", str(run_dir.relative_to(self.folder)))
        if self.progress:
            print(f"[{self.spec.name}] trial {trial.number + 1} of {self.total}: {self.points[point]} seed {seed}",
                  flush=True)
        result = train(train_cfg, run_dir, progress=self.progress)
        if result.status != "finished":
            trial.set_user_attr("failure", result.message)
            return float("nan")  # Optuna records the trial as failed; the study goes on
        metrics = evaluate(run_dir, set(self.spec.metrics), seed=seed, overrides=_sample_eval_overrides(cfg),
                           out=trial_dir / "metrics.json")
        for key, value in _scalars(metrics).items():
            trial.set_user_attr(key, value)
        return float(metrics.get("mse", result.val_loss if result.val_loss is not None else float("nan")))

    def _training_part(self, cfg: RunConfig, seed: int) -> RunConfig:
        """`cfg` with the base's sample/eval sections: sampling-only factors then share a checkpoint."""
        base = self.spec.config({}, seed)
        return dataclasses.replace(cfg, sample=base.sample, eval=base.eval)


def _sample_eval_overrides(cfg: RunConfig) -> list[str]:
    data = config_to_dict(cfg)
    return [f"{section}.{key}={json.dumps(value)}" for section in ("sample", "eval") for key, value in data[section].items()]


def _scalars(metrics: dict[str, Any]) -> dict[str, float]:
    """The overall numeric metrics, plus per-digit ones as '<name>_<digit>'."""
    out = {k: float(v) for k, v in metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    for digit, values in metrics.get("per_digit", {}).items():
        for k, v in values.items():
            if isinstance(v, (int, float)):
                out[f"{k}_{digit}"] = float(v)
    for k, v in metrics.get("speed", {}).items():
        out[f"speed_{k}"] = float(v)
    return out
