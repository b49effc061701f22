"""A study's results from its storage and files: trials.csv, summary.csv (mean and 95% CI over seeds),
plots/*.png and report.md."""

from __future__ import annotations

import json
import math
from pathlib import Path

import optuna
import pandas as pd

from .._util import markdown_table, mean_ci95, sweep_partial_files, with_interval, write_text
from ..config import DATASETS, NUMBERED, Dataset
from ..core import CLASSES
from ..metrics import columns
from ._cells import CAUTIONS, DUPLICATE, FAILURE, PRUNED_AT, RUN, WORKER
from ._dashboard import SAMPLES, trial_folder
from ._plots import (
    as_text,
    metric_panels,
    per_digit_heatmap,
    sample_grids,
    search_scatter,
    training_curves,
    variant_panels,
)
from ._spec import StudySpec

SAMPLING_SECTIONS = ("sample.", "eval.")  # factors that never change the trained network
BOOKKEEPING = {"trial", "state", "seed", RUN, FAILURE, CAUTIONS, "point", WORKER, PRUNED_AT}


def trials_frame(study: optuna.Study, spec: StudySpec) -> pd.DataFrame:
    """One row per trial (raced duplicates left out): number, state, factors, seed, every metric, failure."""
    points = spec.points()
    rows = []
    for t in study.get_trials(deepcopy=False):
        if DUPLICATE in t.user_attrs or (not spec.tuning and "point" not in t.params):
            continue
        factors = ({d.key: _decoded(t.params.get(d.key)) for d in spec.search} if spec.tuning
                   else {f: points[t.params["point"]].get(f) for f in spec.factors()})
        seed = spec.seeds[0] if spec.tuning else t.params["seed"]
        value = {"objective": t.value} if spec.tuning else {}
        point = {} if spec.tuning else {"point": t.params["point"]}
        rows.append({"trial": t.number, "state": t.state.name, **point, **factors, "seed": seed, **value, **t.user_attrs})
    return pd.DataFrame(rows)


def summary_frame(trials: pd.DataFrame, spec: StudySpec) -> pd.DataFrame:
    """One row per grid point: seeds completed, and mean / ci95_low / ci95_high of each numeric metric.

    A tuning study has no grid: its summary is the completed trials, best first."""
    done = trials[trials["state"] == "COMPLETE"] if len(trials) else trials
    if done.empty:
        return pd.DataFrame()
    if spec.tuning:
        ascending = spec.objective is None or spec.objective.direction == "minimize"
        return done.sort_values("objective", ascending=ascending) if len(done) else done
    factors = spec.factors()
    metrics = [c for c in done.columns if c not in {*factors, *BOOKKEEPING} and pd.api.types.is_numeric_dtype(done[c])]
    rows = []
    for i, point in enumerate(spec.points()):
        group = done[done["point"] == i]  # by index: a list point's missing keys are the base's, not wildcards
        row = {**{f: point.get(f) for f in factors}, "seeds": len(group)}
        for m in metrics:
            row[m], row[f"{m}_ci95_low"], row[f"{m}_ci95_high"] = mean_ci95(group[m].tolist())
        rows.append(row)
    return pd.DataFrame(rows)


def write_report(study: optuna.Study, spec: StudySpec, folder: Path) -> Path:
    """Write trials.csv, summary.csv, plots/*.png and report.md into `folder`; returns the report's path."""
    sweep_partial_files(folder)  # what an interrupted earlier report was writing
    trials = trials_frame(study, spec)
    summary = summary_frame(trials, spec)
    write_text(folder / "trials.csv", trials.to_csv(index=False))
    write_text(folder / "summary.csv", summary.to_csv(index=False))
    plots = _plots(spec, trials, folder)
    path = folder / "report.md"
    write_text(path, markdown(spec, trials, summary, plots))
    return path


def _plots(spec: StudySpec, trials: pd.DataFrame, folder: Path) -> dict[str, Path]:
    """Every plot the data allows, by title; paths relative to `folder`."""
    out = folder / "plots"
    done = trials[trials["state"] == "COMPLETE"] if len(trials) else trials
    factors = spec.factors()
    if done.empty:
        return {}
    if not spec.tuning:
        done = done.sort_values(["point", "seed"])  # plots list the variants in the spec's order
    headline = [c.key for c in columns(headline=True)]
    about = study_dataset(spec)
    made = {"Metrics per variant": None if spec.tuning else _metrics_per_variant(spec, done, headline,
                                                                                 out / "metrics.png"),
            "Objective against each searched value": search_scatter(done, factors, "objective", out / "search.png")
            if spec.tuning else None,
            "Training curves": training_curves(_curves(done, factors, folder), out / "training_curves.png"),
            f"Samples (first seed of each variant; row k is {about.noun} k)": sample_grids(_grids(done, factors, folder),
                                                                                    out / "samples.png")}
    metric = next((m for m in ("class_acc", "fid") if f"{m}_0" in done), None)
    if metric is not None and not spec.tuning:
        made[f"Per-{about.noun} {metric}"] = per_digit_heatmap(_per_digit(done, factors, metric, about), metric,
                                                               about.noun, out / "per_digit.png")
    return {title: p.relative_to(folder) for title, p in made.items() if p is not None}


def _metrics_per_variant(spec: StudySpec, done: pd.DataFrame, metrics: list[str], path: Path) -> Path | None:
    """A grid's metrics against its first factor; a list of variants that set different keys, a row per variant."""
    factors = spec.factors()
    if any(set(point) != set(factors) for point in spec.points()):
        labelled = done.assign(variant=done.apply(lambda r: _variant(r, factors), axis=1))
        return variant_panels(labelled, "variant", metrics, path)
    return metric_panels(done, factors, metrics, path, _first_factor_order(spec))


def _variant(row: pd.Series, factors: list[str]) -> str:
    """The factors a variant sets, as `key=value` pairs; the base configuration itself is "(base)"."""
    return ", ".join(f"{f}={as_text(row[f])}" for f in factors if as_text(row[f]) != "(base)") or "(base)"


def _curves(done: pd.DataFrame, factors: list[str], folder: Path) -> pd.DataFrame:
    """Validation MSE per step of every trained run, labelled by the factors that change training."""
    trained = [f for f in factors if not f.startswith(SAMPLING_SECTIONS)]
    frames = []
    for run, group in done.groupby(RUN):
        log = folder / str(run) / "train_log.csv"
        if not log.is_file():
            continue
        curve = pd.read_csv(log)
        curve = curve[curve["val_loss"].notna()][["step", "val_loss"]] if "val_loss" in curve else curve.iloc[0:0]
        label = _variant(group.iloc[0], trained) if trained else "shared by all variants"
        frames.append(curve.assign(variant=label, seed=group.iloc[0]["seed"]))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _first_factor_order(spec: StudySpec) -> list[str]:
    return list(dict.fromkeys(as_text(p.get(spec.factors()[0])) for p in spec.points()))  # values may be lists


def _grids(done: pd.DataFrame, factors: list[str], folder: Path) -> list[tuple[str, Path]]:
    """The first seed's sample grid of each variant, in the order `done` lists them."""
    # as text: a list-valued factor (model.attention_resolutions, sample.guidance_interval) is not hashable
    first = done[~done[factors].astype(str).duplicated()] if factors else done.head(1)
    return [(_variant(row, factors), trial_folder(folder, int(row['trial'])) / SAMPLES)
            for _, row in first.iterrows()]


def _per_digit(done: pd.DataFrame, factors: list[str], metric: str, about: Dataset) -> pd.DataFrame:
    per_digit = [f"{metric}_{d}" for d in CLASSES if f"{metric}_{d}" in done]
    table = done.assign(variant=done.apply(lambda r: _variant(r, factors), axis=1)).groupby("variant", sort=False)[per_digit].mean()
    return table.rename(columns=lambda c: about.label(int(c.rsplit("_", 1)[1])))


def study_dataset(spec: StudySpec) -> Dataset:
    """The data set every variant of the study trains on; a study that varies data.dataset gets numbered classes."""
    names = {spec.config(point, spec.seeds[0]).data.dataset for point in (spec.points() or [{}])}
    return DATASETS.get(names.pop()) if len(names) == 1 else NUMBERED


def _decoded(value: object) -> object:
    """A searched choice is stored as JSON text (Optuna keeps scalars only); show the value itself."""
    if isinstance(value, str):
        try:
            decoded = json.loads(value)
            return str(decoded) if isinstance(decoded, list) else decoded
        except json.JSONDecodeError:
            return value
    return value


def markdown(spec: StudySpec, trials: pd.DataFrame, summary: pd.DataFrame, plots: dict[str, Path] | None = None) -> str:
    complete = int((trials["state"] == "COMPLETE").sum()) if len(trials) else 0
    lines = [f"# Study `{spec.name}`", "", spec.description, ""]
    if spec.tuning:
        lines += _tuning_table(spec, summary, complete)
    else:
        lines += _grid_table(spec, summary, complete)
    lines += _failures(trials, spec.factors())
    lines += _cautions(trials, spec.factors())
    for title, path in (plots or {}).items():
        lines += ["", f"## {title}", "", f"![{title}]({path.as_posix()})"]
    return "\n".join(lines) + "\n"


def _grid_table(spec: StudySpec, summary: pd.DataFrame, complete: int) -> list[str]:
    factors = spec.factors()
    shown = [c for c in columns(headline=True) if c.key in summary.columns]
    reference = spec.config(spec.points()[0], spec.seeds[0]).eval.reference
    against = (f"; FID, KID, precision and recall against the {reference} digits"
               if {"fid", "kid", "prc"} & set(spec.metrics) else "")
    if "class_score_reference" in summary.columns:  # the class score's ceiling in practice, for scale
        against += f"; class_score of the {reference} digits themselves {summary['class_score_reference'].iloc[0]:.2f}"
    lines = [f"Budget `{spec.budget}`; seeds {list(spec.seeds)}; each cell is the mean over seeds with its 95% "
             f"confidence interval (Student's t){against}. Trials: {complete} complete of {spec.size}.", ""]
    rows = [[as_text(row[f]) for f in factors] + [str(int(row["seeds"]))] +
            [_with_ci(row[c.key], row[f"{c.key}_ci95_low"], row[f"{c.key}_ci95_high"]) for c in shown]
            for _, row in summary.iterrows()]
    return lines + markdown_table(factors + ["seeds"] + [c.key for c in shown], rows)


def _tuning_table(spec: StudySpec, summary: pd.DataFrame, complete: int) -> list[str]:
    assert spec.objective is not None
    factors = spec.factors()
    lines = [f"Budget `{spec.budget}`, seed {spec.seeds[0]}; TPE over {', '.join(factors)}; objective: "
             f"{spec.objective.direction} {spec.objective.metric}. Trials: {complete} complete of {spec.trials} "
             f"(pruned and failed ones are listed below). Best first:", ""]
    rows = [[str(int(row["trial"]))] + [_cell(row[f]) for f in factors] + [f"{row['objective']:.4g}"]
            for _, row in summary.head(10).iterrows()]
    return lines + markdown_table(["trial"] + factors + ["objective"], rows)


def _failures(trials: pd.DataFrame, factors: list[str]) -> list[str]:
    ended = trials[trials["state"].isin(["FAIL", "PRUNED"])] if len(trials) else trials
    if not len(ended):
        return []
    lines = ["", "## Failed and pruned trials", ""]
    for _, row in ended.iterrows():
        if row["state"] == "PRUNED":
            reason = f"pruned at step {int(row[PRUNED_AT])}" if _present(row.get(PRUNED_AT)) else "pruned"
        else:
            reason = row[FAILURE] if _present(row.get(FAILURE)) else "interrupted (retried)"
        lines.append(f"- trial {row['trial']}: {_variant(row, factors)}, seed {row['seed']}: {reason}")
    return lines


def _cautions(trials: pd.DataFrame, factors: list[str]) -> list[str]:
    """Each flagged setting once, with the variants that have it (harness.config.cautions)."""
    if CAUTIONS not in trials.columns:
        return []
    flagged = trials[trials[CAUTIONS].map(lambda v: isinstance(v, list))]
    by_caution: dict[str, list[str]] = {}
    for _, row in flagged.iterrows():
        for caution in row[CAUTIONS]:
            variants = by_caution.setdefault(caution, [])
            if (variant := _variant(row, factors)) not in variants:
                variants.append(variant)
    lines = ["", "## Flagged settings (allowed, but read their numbers with care)", ""] if by_caution else []
    return lines + [f"- {', '.join(variants)}: {caution}" for caution, variants in by_caution.items()]


def _present(value: object) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def _cell(value: object) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _with_ci(mean: float, low: float, high: float) -> str:
    return with_interval(mean, (high - low) / 2)
