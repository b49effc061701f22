"""Study specs (ablations/*.yaml): a base config, a grid of factors (or a tuning search), seeds, a budget and metrics."""

from __future__ import annotations

import dataclasses
import itertools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._util import RESERVED, ConfigError
from ..config import BUDGETS, RunConfig, ema_decay_unreached, load_yaml, resolve_config
from ..metrics import METRICS
from ._search import Objective, SearchDim, comparable_validation, parse_objective, parse_search

SPEC_KEYS = ("name", "description", "base", "vary", "search", "objective", "trials", "seeds", "budget", "metrics")
NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")  # a folder name under results/: no path can escape it


@dataclass(frozen=True)
class StudySpec:
    name: str  # results/<name>/
    description: str  # one sentence: the question the study answers
    base: dict[str, Any]  # {"preset": NAME} and/or {"config": {...}} plus optional "set": [overrides]
    vary: dict[str, list[Any]] | list[dict[str, Any]]  # key -> values (every combination), or a list of points
    seeds: tuple[int, ...]  # each grid point is trained once per seed
    budget: str  # smoke | quick | full
    metrics: tuple[str, ...]  # measured per trial
    search: tuple[SearchDim, ...] = ()  # tuning specs: the searched keys (then vary is empty)
    objective: Objective | None = None  # tuning specs: the metric TPE optimises
    trials: int = 0  # tuning specs: how many configurations TPE tries

    @property
    def tuning(self) -> bool:
        return bool(self.search)

    @property
    def prunable(self) -> bool:
        """A tuning study whose trials can be compared, and stopped early, by their validation MSE."""
        return self.tuning and comparable_validation(self.search)

    @property
    def size(self) -> int:
        """Trials the finished study holds: grid points x seeds, or the tuning trial count."""
        return self.trials if self.tuning else len(self.points()) * len(self.seeds)

    def at_budget(self, budget: str | None) -> StudySpec:
        """This study at another budget, under its own name (results/<name>-<budget>/) so runs never mix."""
        if budget is None or budget == self.budget:
            return self
        return dataclasses.replace(self, name=f"{self.name}-{_budget(budget, '--budget')}", budget=budget)

    def points(self) -> list[dict[str, Any]]:
        """The grid: one {key: value} per combination, in a fixed order."""
        if isinstance(self.vary, list):
            return [dict(p) for p in self.vary]
        keys = list(self.vary)  # a tuning spec has one point, {}: its values come from the search
        return [dict(zip(keys, values)) for values in itertools.product(*(self.vary[k] for k in keys))]

    def factors(self) -> list[str]:
        """The config keys the grid (or the search) sets, in order."""
        if self.tuning:
            return [d.key for d in self.search]
        return list(dict.fromkeys(k for p in self.points() for k in p))

    def config(self, point: dict[str, Any], seed: int) -> RunConfig:
        """The validated config of one grid point and seed."""
        overrides = [f"{k}={_yaml(v)}" for k, v in point.items()] + [f"train.seed={seed}"]
        return resolve_config(self.base.get("preset", "baseline"), self.budget, overrides,
                              base=self.base.get("config"), before_budget=list(self.base.get("set", [])))


def spec_from_json(data: dict[str, Any]) -> StudySpec:
    """The spec a study folder's spec.json was written from (dataclasses.asdict of it)."""
    objective = data.get("objective")
    return StudySpec(**{**data, "seeds": tuple(data["seeds"]), "metrics": tuple(data["metrics"]),
                        "search": tuple(SearchDim(**{**d, "choices": tuple(d["choices"])}) for d in data.get("search", ())),
                        "objective": Objective(**objective) if objective else None})


def read_spec_json(path: Path) -> dict[str, Any]:
    """A study folder's spec.json as a dict; a damaged file is a clear error, never a traceback."""
    try:
        data = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path} is not readable JSON ({e}); it records the spec of this study folder: "
                          f"restore it or remove the folder") from None
    if not isinstance(data, dict) or not {"name", "seeds", "metrics"} <= set(data):
        raise ConfigError(f"{path} is not a harness spec.json; restore it or remove the folder")
    return data


def load_spec(path: str | Path) -> StudySpec:
    """Read and validate a spec; every grid point's config is resolved here, before anything runs."""
    data = load_yaml(str(path))
    where = str(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: a study spec must be a mapping with keys {', '.join(SPEC_KEYS)}")
    unknown = sorted(set(data) - set(SPEC_KEYS))
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r}; valid keys: {', '.join(SPEC_KEYS)}")
    if ("vary" in data) == ("search" in data):
        raise ConfigError(f"{where}: a spec has either vary (an ablation grid) or search (a tuning study), not "
                          f"{'both' if 'vary' in data else 'neither'}")
    spec = StudySpec(
        name=_name(data.get("name"), where),
        description=str(data.get("description", "")),
        base=_base(data.get("base", {"preset": "baseline"}), where),
        vary=_vary(data["vary"], where) if "vary" in data else {},
        seeds=_seeds(data.get("seeds", [0]), where),
        budget=_budget(data.get("budget", "quick"), where),
        metrics=_metrics(data.get("metrics", ["mse", "class_acc"]), where),
    )
    if "search" in data:
        spec = _tuning(spec, data, where)
    elif {"objective", "trials"} & set(data):
        raise ConfigError(f"{where}: objective and trials belong to tuning specs (with search:), not to a vary grid")
    for point in _checked_points(spec):
        what = f"{where}: {'search value' if spec.tuning else 'grid point'} {point}"
        try:
            cfg = spec.config(point, spec.seeds[0])
        except ConfigError as e:
            raise ConfigError(f"{what}: {e}") from None
        # a decay the EMA's warm-up never reaches would train one network under several names
        if "train.ema_decay" in point and (idle := ema_decay_unreached(cfg.train)):
            raise ConfigError(f"{what}: {idle}")
    return spec


def _tuning(spec: StudySpec, data: dict[str, Any], where: str) -> StudySpec:
    objective = parse_objective(data.get("objective"), where)
    trials = data.get("trials")
    if not isinstance(trials, int) or isinstance(trials, bool) or trials < 1:
        raise ConfigError(f"{where}: trials must be a whole number >= 1 (how many configurations to try), got {trials!r}")
    if len(spec.seeds) != 1:
        raise ConfigError(f"{where}: a tuning spec takes one seed (each trial is a new configuration), got {list(spec.seeds)}")
    if objective.needs not in spec.metrics:
        raise ConfigError(f"{where}: objective {objective.metric} needs metric {objective.needs!r} in metrics {list(spec.metrics)}")
    return dataclasses.replace(spec, search=parse_search(data["search"], where), objective=objective, trials=trials)


def _checked_points(spec: StudySpec) -> list[dict[str, Any]]:
    """Every grid point; for a search, each dimension's extreme values one at a time."""
    if not spec.tuning:
        return spec.points()
    return [{dim.key: value} for dim in spec.search for value in dim.extremes()]


def _name(value: object, where: str) -> str:
    if not isinstance(value, str) or not NAME.match(value):
        raise ConfigError(f"{where}: name must be lower-case letters, digits, '-' or '_' (it names results/<name>/), got {value!r}")
    if value.split("-")[0] in RESERVED:  # `difficulty`/`reproduce` also write <name>-<budget>/ folders
        raise ConfigError(f"{where}: name {value!r} is taken by results/{value}/; choose another (reserved, alone or "
                          f"before a '-': {', '.join(RESERVED)})")
    return value


def _base(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict) or not set(value) <= {"preset", "config", "set"}:
        raise ConfigError(f"{where}: base must be a mapping with preset, config and/or set, got {value!r}")
    if "set" in value and not (isinstance(value["set"], list) and all(isinstance(s, str) for s in value["set"])):
        raise ConfigError(f"{where}: base.set must be a list of key=value strings")
    return dict(value)


def _vary(value: object, where: str) -> dict[str, list[Any]] | list[dict[str, Any]]:
    if isinstance(value, list):  # explicit points, e.g. [{sample.sampler: ddpm, sample.steps: 1000}, ...]
        if not value or not all(isinstance(p, dict) and p for p in value):
            raise ConfigError(f"{where}: vary as a list must hold at least one point, each a non-empty mapping of "
                              f"config keys to values, got {value!r}")
        return [{str(k): v for k, v in p.items()} for p in value]
    if not isinstance(value, dict) or not value:
        raise ConfigError(f"{where}: vary must map at least one config key (e.g. model.skip) to a list of values, "
                          f"or list the grid points")
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
