"""The grid study's sampler: Optuna's GridSampler over (point, seed) cells that also records each cell's factor
values as trial parameters, so that Optuna's own tools (optuna-dashboard's trial table, parallel-coordinate and
slice plots) show `model.attention_resolutions = [14, 7]` instead of `point = 2`."""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from typing import Any

import optuna
from optuna.distributions import BaseDistribution
from optuna.samplers import BaseSampler, GridSampler
from optuna.trial import FrozenTrial, TrialState

from ._spec import StudySpec

POINT, SEED = "point", "seed"  # the grid's own parameters: the index into spec.points() and the training seed


def factor_params(spec: StudySpec) -> dict[str, list[Any]]:
    """{factor: its value at each grid point}, as Optuna stores a categorical choice (None, bool, int, float or
    str; a list such as attention resolutions as its JSON text). A point that leaves a factor out shows the value
    its resolved config runs with, not a placeholder."""
    configs = [spec.config(point, spec.seeds[0]) for point in spec.points()]
    return {key: [_choice(functools.reduce(getattr, key.split("."), cfg)) for cfg in configs]
            for key in spec.factors()}


def _choice(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return json.dumps(list(value) if isinstance(value, tuple) else value)


def choices(values: list[Any]) -> list[Any]:
    """A factor's distinct values over the grid, in grid order: its categorical distribution's choices."""
    return list(dict.fromkeys(values))


class GridCellSampler(BaseSampler):
    """GridSampler over {point, seed} (one seed for every worker: it shuffles the grid, and a grid id must mean
    one cell everywhere); a factor suggested after `point` gets that point's value."""

    def __init__(self, n_points: int, seeds: Sequence[int], factors: dict[str, list[Any]]) -> None:
        self._grid = GridSampler({POINT: list(range(n_points)), SEED: list(seeds)}, seed=0)
        self._factors = factors  # {factor: value at each point index}

    def infer_relative_search_space(self, study: optuna.Study, trial: FrozenTrial) -> dict[str, BaseDistribution]:
        return self._grid.infer_relative_search_space(study, trial)

    def sample_relative(self, study: optuna.Study, trial: FrozenTrial,
                        search_space: dict[str, BaseDistribution]) -> dict[str, Any]:
        return self._grid.sample_relative(study, trial, search_space)

    def sample_independent(self, study: optuna.Study, trial: FrozenTrial, param_name: str,
                           param_distribution: BaseDistribution) -> Any:
        if param_name in self._factors:
            return self._factors[param_name][trial.params[POINT]]
        return self._grid.sample_independent(study, trial, param_name, param_distribution)

    def before_trial(self, study: optuna.Study, trial: FrozenTrial) -> None:
        self._grid.before_trial(study, trial)

    def after_trial(self, study: optuna.Study, trial: FrozenTrial, state: TrialState,
                    values: Sequence[float] | None) -> None:
        self._grid.after_trial(study, trial, state, values)

    def reseed_rng(self) -> None:
        self._grid.reseed_rng()


def grid_sampler(spec: StudySpec) -> GridCellSampler:
    return GridCellSampler(len(spec.points()), spec.seeds, factor_params(spec))
