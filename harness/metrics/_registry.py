"""The metric registry: each metric's name, what it needs, the figures it writes and which way is better.

Spec validation, `harness evaluate`, the trial objective, the study report and the CLI's tables all read this
registry; none keeps a list of metric names. Adding a metric is one registered function (`_members.py`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .._util import Registry

if TYPE_CHECKING:  # the compute functions take the evaluation context, which imports this module
    from ._context import Evaluation

SAMPLES = "samples"  # needs generated (or given) digits
NETWORK = "network"  # needs the trained network itself
HIGHER, LOWER, NEITHER = 1, -1, 0  # Column.better


@dataclass(frozen=True)
class Column:
    """One figure a metric writes into metrics.json."""

    key: str  # its key: overall in metrics.json, per digit under per_digit[<digit>]
    better: int  # HIGHER or LOWER is better, or NEITHER (a description, e.g. diversity)
    per_digit: bool = False  # also written for each digit
    headline: bool = True  # a column of the study report's main table
    overall: bool = True  # also written over all digits


@dataclass(frozen=True)
class Metric:
    """A registered metric: `compute` returns its overall figures, with per-digit ones under "per_digit"."""

    name: str  # as in --metrics and a spec's metrics: list
    needs: str  # SAMPLES or NETWORK
    columns: tuple[Column, ...]  # the scalar figures it writes (speed and clip also write a nested section)
    compute: Callable[[Evaluation], dict[str, Any]]
    doc: str  # one line for `harness components`
    by_default: bool = True  # computed by `harness evaluate` when --metrics is not given


METRICS: Registry[Metric] = Registry("metric", "what `harness evaluate` and studies measure (--metrics, metrics:)")


def metric(name: str, needs: str, *columns: Column, by_default: bool = True
           ) -> Callable[[Callable[[Evaluation], dict[str, Any]]], Callable[[Evaluation], dict[str, Any]]]:
    """Decorator: register the function as metric `name`; its docstring's first line is the metric's doc."""

    def add(compute: Callable[[Evaluation], dict[str, Any]]) -> Callable[[Evaluation], dict[str, Any]]:
        doc = (compute.__doc__ or name).strip().splitlines()[0]
        METRICS.register(name)(Metric(name, needs, tuple(columns), compute, doc, by_default))
        return compute

    return add


def columns(*, headline: bool | None = None, per_digit: bool | None = None,
            metrics: set[str] | None = None, needs: str | None = None) -> list[Column]:
    """Columns of the registered metrics in registry order, filtered by the flags given."""
    return [c for name, m in METRICS.items() if (metrics is None or name in metrics) and needs in (None, m.needs)
            for c in m.columns
            if (headline is None or c.headline == headline) and (per_digit is None or c.per_digit == per_digit)]


def better(key: str) -> int:
    """HIGHER, LOWER or NEITHER for a registered column key (per digit too: 'fid_3' is fid's)."""
    base = key.rsplit("_", 1)[0] if key.rsplit("_", 1)[-1].isdigit() else key
    return next((c.better for c in columns() if c.key == base), NEITHER)


def flat_figures(result: dict[str, Any]) -> dict[str, float]:
    """metrics.json as flat scalars: overall figures, per-digit ones as '<key>_<digit>', the speed section as
    'speed_<key>' and the CLIP section's numbers by their own (clip_) keys. A study records these per trial."""
    out = {k: float(v) for k, v in result.items() if _number(v)}
    for digit, values in result.get("per_digit", {}).items():
        out.update({f"{k}_{digit}": float(v) for k, v in values.items() if _number(v)})
    out.update({f"speed_{k}": float(v) for k, v in result.get("speed", {}).items() if _number(v)})
    out.update({k: float(v) for k, v in result.get("clip", {}).items() if _number(v)})
    return out


def _number(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)
