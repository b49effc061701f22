"""Study specs (ablations/*.yaml): a base config, a grid of factors, seeds, a budget and metrics."""

from __future__ import annotations

import dataclasses
import itertools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import RunConfig, load_yaml
from .errors import ConfigError
from .evaluate import METRICS
from .presets import BUDGETS, resolve_config

SPEC_KEYS = ("name", "description", "base", "vary", "seeds", "budget", "metrics")
NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")  # a folder name under results/: no path can escape it


@dataclass(frozen=True)
class StudySpec:
    name: str  # results/<name>/
    description: str  # one sentence: the question the study answers
    base: dict[str, Any]  # {"preset": NAME} and/or {"config": {...}} plus optional "set": [overrides]
    vary: dict[str, list[Any]]  # dotted config key -> values; every combination is a grid point
    seeds: tuple[int, ...]  # each grid point is trained once per seed
    budget: str  # smoke | quick | full
    metrics: tuple[str, ...]  # measured per trial

    def at_budget(self, budget: str | None) -> StudySpec:
        """This study at another budget, under its own name (results/<name>-<budget>/) so runs never mix."""
        if budget is None or budget == self.budget:
            return self
        return dataclasses.replace(self, name=f"{self.name}-{_budget(budget, '--budget')}", budget=budget)

    def points(self) -> list[dict[str, Any]]:
        """The grid: one {key: value} per combination, in a fixed order."""
        keys = list(self.vary)
        return [dict(zip(keys, values)) for values in itertools.product(*(self.vary[k] for k in keys))]

    def config(self, point: dict[str, Any], seed: int) -> RunConfig:
        """The validated config of one grid point and seed."""
        overrides = list(self.base.get("set", [])) + [f"{k}={_yaml(v)}" for k, v in point.items()] + [f"train.seed={seed}"]
        return resolve_config(self.base.get("preset", "baseline"), self.budget, overrides,
                              base=self.base.get("config"))


def load_spec(path: str | Path) -> StudySpec:
    """Read and validate a spec; every grid point's config is resolved here, before anything runs."""
    data = load_yaml(str(path))
    where = str(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: a study spec must be a mapping with keys {', '.join(SPEC_KEYS)}")
    unknown = sorted(set(data) - set(SPEC_KEYS))
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r}; valid keys: {', '.join(SPEC_KEYS)}")
    spec = StudySpec(
        name=_name(data.get("name"), where),
        description=str(data.get("description", "")),
        base=_base(data.get("base", {"preset": "baseline"}), where),
        vary=_vary(data.get("vary"), where),
        seeds=_seeds(data.get("seeds", [0]), where),
        budget=_budget(data.get("budget", "quick"), where),
        metrics=_metrics(data.get("metrics", ["mse", "class_acc"]), where),
    )
    for point in spec.points():
        try:
            spec.config(point, spec.seeds[0])
        except ConfigError as e:
            raise ConfigError(f"{where}: grid point {point}: {e}") from None
    return spec


def _name(value: object, where: str) -> str:
    if not isinstance(value, str) or not NAME.match(value):
        raise ConfigError(f"{where}: name must be lower-case letters, digits, '-' or '_' (it names results/<name>/), got {value!r}")
    return value


def _base(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict) or not set(value) <= {"preset", "config", "set"}:
        raise ConfigError(f"{where}: base must be a mapping with preset, config and/or set, got {value!r}")
    if "set" in value and not (isinstance(value["set"], list) and all(isinstance(s, str) for s in value["set"])):
        raise ConfigError(f"{where}: base.set must be a list of key=value strings")
    return dict(value)


def _vary(value: object, where: str) -> dict[str, list[Any]]:
    if not isinstance(value, dict) or not value:
        raise ConfigError(f"{where}: vary must map at least one config key (e.g. model.skip) to a list of values")
    for key, values in value.items():
        if not isinstance(values, list) or not values:
            raise ConfigError(f"{where}: vary.{key} must be a non-empty list of values, got {values!r}; the grid would be empty")
    return {str(k): list(v) for k, v in value.items()}


def _seeds(value: object, where: str) -> tuple[int, ...]:
    ok = isinstance(value, list) and value and all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in value)
    if not ok or len(set(value)) != len(value):  # type: ignore[arg-type]
        raise ConfigError(f"{where}: seeds must be a non-empty list of distinct whole numbers >= 0, got {value!r}")
    return tuple(value)  # type: ignore[arg-type]


def _budget(value: object, where: str) -> str:
    if value not in BUDGETS:
        raise ConfigError(f"{where}: {BUDGETS.unknown_message(value)}")
    return str(value)


def _metrics(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or any(m not in METRICS for m in value):
        raise ConfigError(f"{where}: metrics must be a non-empty list drawn from {', '.join(METRICS)}, got {value!r}")
    return tuple(value)


def _yaml(value: object) -> str:
    return json.dumps(value) if not isinstance(value, str) else value
