"""A study's tables from its storage: trials.csv, summary.csv (mean and 95% CI over seeds), report.md."""

from __future__ import annotations

import math
from pathlib import Path

import optuna
import pandas as pd

from .files import write_text
from .spec import StudySpec
from .stats import mean_ci95

HEADLINE = ("mse", "class_acc", "fid", "kid", "precision", "recall", "diversity", "clip_score")  # report.md columns


def trials_frame(study: optuna.Study, spec: StudySpec) -> pd.DataFrame:
    """One row per trial: number, state, factors, seed, every recorded metric, failure reason."""
    points = spec.points()
    rows = []
    for t in study.get_trials(deepcopy=False):
        if "point" not in t.params:
            continue
        row = {"trial": t.number, "state": t.state.name, **points[t.params["point"]], "seed": t.params["seed"]}
        row.update(t.user_attrs)
        rows.append(row)
    return pd.DataFrame(rows)


def summary_frame(trials: pd.DataFrame, spec: StudySpec) -> pd.DataFrame:
    """One row per grid point: seeds completed, and mean / ci95_low / ci95_high of each numeric metric."""
    factors = list(spec.vary)
    done = trials[trials["state"] == "COMPLETE"] if len(trials) else trials
    metrics = [c for c in done.columns if c not in {*factors, "trial", "state", "seed", "run", "failure", "point"}
               and pd.api.types.is_numeric_dtype(done[c])]
    rows = []
    for point in spec.points():
        mask = pd.Series(True, index=done.index)
        for k, v in point.items():
            mask &= done[k].apply(lambda x, v=v: x == v)
        group = done[mask]
        row = {**point, "seeds": len(group)}
        for m in metrics:
            row[m], row[f"{m}_ci95_low"], row[f"{m}_ci95_high"] = mean_ci95(group[m].tolist())
        rows.append(row)
    return pd.DataFrame(rows)


def write_report(study: optuna.Study, spec: StudySpec, folder: Path) -> Path:
    """Write trials.csv, summary.csv and report.md into `folder`; returns the report's path."""
    trials = trials_frame(study, spec)
    summary = summary_frame(trials, spec)
    write_text(folder / "trials.csv", trials.to_csv(index=False))
    write_text(folder / "summary.csv", summary.to_csv(index=False))
    path = folder / "report.md"
    write_text(path, markdown(spec, trials, summary))
    return path


def markdown(spec: StudySpec, trials: pd.DataFrame, summary: pd.DataFrame) -> str:
    factors = list(spec.vary)
    shown = [m for m in HEADLINE if m in summary.columns]
    lines = [f"# Study `{spec.name}`", "", spec.description, "",
             f"Budget `{spec.budget}`; seeds {list(spec.seeds)}; each cell is the mean over seeds with its 95% "
             f"confidence interval (Student's t). Trials: {int((trials['state'] == 'COMPLETE').sum()) if len(trials) else 0} "
             f"complete of {len(spec.points()) * len(spec.seeds)}.", ""]
    header = factors + ["seeds"] + shown
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for _, row in summary.iterrows():
        cells = [str(row[f]) for f in factors] + [str(int(row["seeds"]))]
        cells += [_with_ci(row[m], row[f"{m}_ci95_low"], row[f"{m}_ci95_high"]) for m in shown]
        lines.append("| " + " | ".join(cells) + " |")
    failed = trials[trials["state"] == "FAIL"] if len(trials) else trials
    if len(failed):
        lines += ["", "## Failed trials", ""]
        for _, row in failed.iterrows():
            reason = row.get("failure") if isinstance(row.get("failure"), str) else "worker stopped (retried)"
            lines.append(f"- trial {row['trial']}: {', '.join(f'{f}={row[f]}' for f in factors)}, seed {row['seed']}: {reason}")
    return "\n".join(lines) + "\n"


def _with_ci(mean: float, low: float, high: float) -> str:
    if math.isnan(mean):
        return "n/a"
    if math.isnan(low):
        return f"{mean:.4g} (one seed)"
    return f"{mean:.4g} ± {(high - low) / 2:.2g}"
