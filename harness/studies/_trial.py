"""One study trial: its config, training (or reuse of) the network, evaluation, the recorded metrics."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import time
from pathlib import Path
from typing import Any

import optuna

from .._util import RUNS, NumericalError, folder_lock, write_json
from ..config import EvalConfig, RunConfig, cautions, config_hash, config_to_dict, sample_for
from ..metrics import evaluate, flat_figures
from ..runs import OnValidation, train
from ._cells import CAUTIONS, DUPLICATE, FAILURE, PRUNED_AT, RECORDED, RUN, WORKER, duplicate_of, worker_id
from ._dashboard import attach_artifacts, trial_folder
from ._grid import POINT, SEED, choices, factor_params
from ._progress import progress_line
from ._spec import StudySpec
from ._storage import study_metric


class TrialRunner:
    """Optuna's objective: a grid cell (point, seed) or a tuning suggestion -> the objective value."""

    def __init__(self, spec: StudySpec, folder: Path, progress: bool, who: str = "") -> None:
        self.spec, self.folder, self.progress, self.who = spec, folder, progress, who
        self.points = spec.points()
        self.factors = {} if spec.tuning else factor_params(spec)
        self.started = time.monotonic()

    def __call__(self, trial: optuna.Trial) -> float:
        point, seed = self._suggest(trial)
        trial.set_user_attr(WORKER, worker_id())
        cfg = self.spec.config(point, seed)
        train_cfg = self._training_part(cfg, seed)
        run_dir = shared_run_dir(self.folder.parent, train_cfg)
        trial_dir = trial_folder(self.folder, trial.number)
        write_json(trial_dir / "config.json", config_to_dict(cfg))
        trial.set_user_attr(RUN, os.path.relpath(run_dir, self.folder))
        if flagged := cautions(cfg):
            trial.set_user_attr(CAUTIONS, flagged)
        if self.progress:
            print(progress_line(trial.study, self.spec, _label(point, seed), self.started, self.who), flush=True)
        with folder_lock(run_dir, self.who or "this worker"):
            result = train(train_cfg, run_dir, progress=self.progress, on_validation=self._pruner(trial))
        if result.status != "finished":
            trial.set_user_attr(FAILURE, result.message)
            return float("nan")  # Optuna records the trial as failed; the study goes on
        try:
            metrics = evaluate(run_dir, set(self.spec.metrics), seed=seed, overrides=_sample_eval_overrides(cfg),
                               out=trial_dir / "metrics.json", grid=trial_dir / "samples.png")
        except NumericalError as e:  # e.g. NaN samples at an extreme guidance: a result of this variant, not a crash
            trial.set_user_attr(FAILURE, str(e))
            return float("nan")
        figures = flat_figures(metrics)
        for key, value in figures.items():
            trial.set_user_attr(key, value)
        attach_artifacts(trial, trial.storage, self.folder, run_dir)
        name = study_metric(trial.study, self.spec)
        if name not in figures and self.spec.objective is None:
            # a grid metric that reported itself unavailable (clip without local weights): the trial completes,
            # recording its step as a grid did before it named one metric, and says so
            trial.set_user_attr(RECORDED, f"step ({name} was not measured)")
            name = "step"
        value = figures.get(name, float("nan"))
        if math.isnan(value):
            trial.set_user_attr(FAILURE, f"{name} is NaN" if name in figures else f"{name} was not measured")
        return value

    def _suggest(self, trial: optuna.Trial) -> tuple[dict[str, Any], int]:
        """The trial's grid point (or searched values) and seed; a grid cell already owned is not run twice."""
        if self.spec.tuning:
            point = {dim.key: dim.suggest(trial) for dim in self.spec.search}
            return _fixed_images(self.spec, point), self.spec.seeds[0]
        index = trial.suggest_categorical(POINT, list(range(len(self.points))))
        seed = trial.suggest_categorical(SEED, list(self.spec.seeds))
        owner = duplicate_of(trial.study, trial, (index, seed))
        if owner is not None:  # two workers raced for the cell: the lower trial number keeps it
            trial.set_user_attr(DUPLICATE, owner)
            raise optuna.TrialPruned(f"cell already owned by trial {owner}")
        for factor, values in self.factors.items():  # shown by Optuna's tools; GridCellSampler answers with the point's
            trial.suggest_categorical(factor, choices(values))
        return self.points[index], seed

    def _pruner(self, trial: optuna.Trial) -> OnValidation | None:
        """Report validation MSE to Optuna's pruner (tuning only: an ablation measures every variant)."""
        if not self.spec.tuning:
            return None
        sign = -1.0 if self.spec.objective and self.spec.objective.direction == "maximize" else 1.0

        def report(step: int, mse: float) -> None:
            trial.report(sign * mse, step)  # lower MSE is better whichever way the objective points
            if trial.should_prune():
                trial.set_user_attr(PRUNED_AT, step)
                raise optuna.TrialPruned(f"pruned at step {step}: validation MSE {mse:.4f}")
        return report

    def _training_part(self, cfg: RunConfig, seed: int) -> RunConfig:
        """`cfg` with the base's sample/eval sections (with the sampler and spacing cfg's formulation can use):
        sampling-only factors then share a checkpoint. The split the samples are compared with plays no part in
        training, so a study that compares with validation digits shares the networks of one that uses test."""
        base = self.spec.config({}, seed)
        evaluation = dataclasses.replace(base.eval, reference=EvalConfig.reference)
        return dataclasses.replace(cfg, sample=sample_for(cfg.diffusion.formulation, base.sample), eval=evaluation)


def shared_run_dir(results: Path, train_cfg: RunConfig) -> Path:
    """<results>/runs/<hash>: one trained network per training config, shared by every study and analysis."""
    return results / RUNS / config_hash(train_cfg)


def _fixed_images(spec: StudySpec, point: dict[str, Any]) -> dict[str, Any]:
    """A searched batch size keeps the budget's training images fixed: a larger batch gets fewer steps."""
    if "train.batch_size" not in point or "train.steps" in point:
        return point
    base = spec.config({}, spec.seeds[0]).train
    return {**point, "train.steps": max(1, round(base.steps * base.batch_size / point["train.batch_size"]))}


def _label(point: dict[str, Any], seed: int) -> str:
    return ", ".join(f"{k}={v}" for k, v in point.items()) + f", seed {seed}"


def _sample_eval_overrides(cfg: RunConfig) -> list[str]:
    data = config_to_dict(cfg)
    return [f"{section}.{key}={json.dumps(value)}" for section in ("sample", "eval") for key, value in data[section].items()]
