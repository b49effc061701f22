"""Tuning specs' `search:` dimensions and `objective:`, as Optuna suggestions.

    search:
      train.lr: {float: [1.0e-4, 5.0e-3], log: true}   # a range, log-uniform
      train.batch_size: {choices: [64, 128, 256]}      # categorical; values may be lists too
      train.p_uncond: {float: [0.0, 0.3]}
    objective: {metric: class_acc}                     # direction follows from the metric
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import optuna

from .._util import ConfigError

# objective metric -> (the evaluate metric that computes it, the better direction)
OBJECTIVES: dict[str, tuple[str, str]] = {
    "mse": ("mse", "minimize"), "fid": ("fid", "minimize"), "kid": ("kid", "minimize"),
    "class_acc": ("class_acc", "maximize"), "confidence": ("class_acc", "maximize"),
    "precision": ("prc", "maximize"), "recall": ("prc", "maximize"),
}


# Keys that change what validation MSE measures (the network's output target, or the noise levels it is averaged
# over): across their values a lower validation MSE is not a better model, so a search over one is not pruned on it.
VALIDATION_CHANGING = ("diffusion.formulation", "diffusion.prediction", "diffusion.schedule", "diffusion.timesteps")


@dataclass(frozen=True)
class SearchDim:
    """One searched config key: a float or int range (optionally log-scaled) or a list of choices."""

    key: str  # dotted config key, e.g. train.lr
    kind: str  # float | int | choices
    low: float = 0.0  # range bounds (float and int)
    high: float = 0.0
    log: bool = False  # sample the range log-uniformly
    choices: tuple[str, ...] = ()  # JSON of each choice: Optuna stores only scalars, a choice may be a list

    def suggest(self, trial: optuna.Trial) -> Any:
        """The trial's value for this key (decoded: a choice comes back as the YAML value it was)."""
        if self.kind == "float":
            return trial.suggest_float(self.key, self.low, self.high, log=self.log)
        if self.kind == "int":
            return trial.suggest_int(self.key, int(self.low), int(self.high), log=self.log)
        return json.loads(trial.suggest_categorical(self.key, list(self.choices)))

    def extremes(self) -> list[Any]:
        """Values that together exercise the whole dimension when validating a spec."""
        if self.kind == "choices":
            return [json.loads(c) for c in self.choices]
        cast = float if self.kind == "float" else int
        return [cast(self.low), cast(self.high)]


def comparable_validation(search: tuple[SearchDim, ...]) -> bool:
    """Whether the trials of this search measure the same thing by their validation MSE."""
    return not any(dim.key in VALIDATION_CHANGING for dim in search)


@dataclass(frozen=True)
class Objective:
    metric: str  # a scalar of metrics.json: mse, fid, kid, class_acc, confidence, class_score, precision, recall
    direction: str  # minimize | maximize

    @property
    def needs(self) -> str:
        """The evaluate metric that computes this objective."""
        return OBJECTIVES[self.metric][0]


def parse_search(value: object, where: str) -> tuple[SearchDim, ...]:
    if not isinstance(value, dict) or not value:
        raise ConfigError(f"{where}: search must map at least one config key to {{float: [low, high]}}, "
                          f"{{int: [low, high]}} or {{choices: [...]}}")
    return tuple(_dim(str(k), v, where) for k, v in value.items())


def _dim(key: str, value: object, where: str) -> SearchDim:
    form = f"{where}: search.{key} must be {{float: [low, high]}}, {{int: [low, high]}} (optionally log: true) or {{choices: [...]}}"
    if not isinstance(value, dict) or not set(value) <= {"float", "int", "choices", "log"}:
        raise ConfigError(f"{form}, got {value!r}")
    kinds = [k for k in ("float", "int", "choices") if k in value]
    if len(kinds) != 1:
        raise ConfigError(f"{form}, got {value!r}")
    kind, log = kinds[0], value.get("log", False)
    if kind == "choices":
        choices = value["choices"]
        if not isinstance(choices, list) or not choices or log:
            raise ConfigError(f"{where}: search.{key}.choices must be a non-empty list (and takes no log), got {choices!r}")
        return SearchDim(key, kind, choices=tuple(json.dumps(c) for c in choices))
    bounds = value[kind]
    numbers = isinstance(bounds, list) and len(bounds) == 2 and all(
        isinstance(b, (int, float)) and not isinstance(b, bool) for b in bounds)
    if not numbers or not bounds[0] < bounds[1] or not isinstance(log, bool) or (log and bounds[0] <= 0):
        raise ConfigError(f"{where}: search.{key}.{kind} must be [low, high] with low < high (and low > 0 when log: true), "
                          f"got {bounds!r}")
    return SearchDim(key, kind, low=float(bounds[0]), high=float(bounds[1]), log=log)


def parse_objective(value: object, where: str) -> Objective:
    if isinstance(value, str):
        value = {"metric": value}
    if not isinstance(value, dict) or value.get("metric") not in OBJECTIVES or not set(value) <= {"metric", "direction"}:
        raise ConfigError(f"{where}: objective must be {{metric: NAME}} with NAME one of {', '.join(OBJECTIVES)} "
                          f"(and optionally direction: minimize | maximize), got {value!r}")
    direction = value.get("direction", OBJECTIVES[value["metric"]][1])
    if direction not in ("minimize", "maximize"):
        raise ConfigError(f"{where}: objective.direction must be minimize or maximize, got {direction!r}")
    return Objective(value["metric"], direction)
