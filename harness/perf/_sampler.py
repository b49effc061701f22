"""The sampler study (ablations/sampler.yaml): FID and classifier accuracy against network evaluations.

Issue 6's goal: a sampler within 10% of DDPM-1000's FID at 20 network evaluations or fewer.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from .._util import interval_text, markdown_table
from ..studies import save_figure, t_interval

SAMPLER_STUDY = "sampler"  # ablations/sampler.yaml: its folder under results/ at its own budget
REFERENCE = "ddpm"  # FID is compared with this sampler's at its most steps (all T = 1000)
MAX_EVALUATIONS = 20  # the goal's budget of network calls per sample
FID_TOLERANCE = 0.10  # ... within this fraction of the reference's FID
EVALS = "speed_network_evaluations_per_sample"  # a guided step's two passes are one batched call
SHORT_NAMES = {"sample.sampler": "sampler", "sample.steps": "steps", EVALS: "evaluations"}  # the study's columns


def sampler_rows(summary: pd.DataFrame) -> pd.DataFrame:
    """One row per sampler and step count: evaluations, FID and accuracy (mean, 95% CI), images/s, and FID
    over the reference's. Raises ValueError naming what the study lacks."""
    needed = {"sample.sampler", "sample.steps", "fid", "class_acc", EVALS}
    if missing := sorted(needed - set(summary.columns)):
        raise ValueError(f"the study's summary.csv lacks {', '.join(missing)}; run ablations/sampler.yaml "
                         f"(its metrics include fid, class_acc and speed)")
    rows = summary.rename(columns=SHORT_NAMES).copy()
    if not (rows["sampler"] == REFERENCE).any():
        raise ValueError(f"the study has no {REFERENCE} point to compare FID with")
    rows = rows.assign(fid_over_reference=rows["fid"] / reference(rows)["fid"])
    return rows.sort_values(["evaluations", "sampler"]).reset_index(drop=True)


def reference(rows: pd.DataFrame) -> pd.Series:
    """The reference sampler at its most steps (DDPM with all T steps in ablations/sampler.yaml)."""
    return rows[rows["sampler"] == REFERENCE].sort_values("steps").iloc[-1]


def sampler_goal(rows: pd.DataFrame) -> str:
    """Whether some sampler other than the reference reaches its FID within the tolerance in few evaluations."""
    few = rows[(rows["sampler"] != REFERENCE) & (rows["evaluations"] <= MAX_EVALUATIONS)]
    if few.empty:
        return f"not measured: the study has no sampler at {MAX_EVALUATIONS} network evaluations or fewer"
    best, ref = few.loc[few["fid_over_reference"].idxmin()], reference(rows)
    met = best["fid_over_reference"] <= 1 + FID_TOLERANCE
    return (f"{'met' if met else 'NOT met'}: the best at <= {MAX_EVALUATIONS} evaluations is {best['sampler']} "
            f"with {best['evaluations']:.0f}, FID {best['fid']:.4g} = {best['fid_over_reference']:.2f}x "
            f"{REFERENCE}-{ref['steps']:.0f}'s {ref['fid']:.4g} (goal <= {1 + FID_TOLERANCE:.2f}x)")


def sampler_table(rows: pd.DataFrame) -> list[str]:
    cells = [[r["sampler"], f"{r['steps']:.0f}", f"{r['evaluations']:.0f}", f"{r['seeds']:.0f}", ci_text(r, "fid"),
              f"{r['fid_over_reference']:.2f}x", ci_text(r, "class_acc"),
              f"{r.get('speed_sampling_images_per_s', float('nan')):.3g}"] for _, r in rows.iterrows()]
    return markdown_table(["sampler", "steps", "network evaluations per sample", "seeds", "FID [95% CI]",
                           f"FID / {REFERENCE}", "classifier accuracy [95% CI]", "sampling images/s"], cells)


def ci_text(row: pd.Series, metric: str) -> str:
    """'mean [low, high]' of a summary row's metric."""
    return interval_text(row[metric], row[f"{metric}_ci95_low"], row[f"{metric}_ci95_high"])


def sampler_plot(trials: pd.DataFrame, reference_fid: float, path: Path) -> Path:
    """FID and classifier accuracy against network evaluations (log axis), one line per sampler, 95% CIs;
    the goal's corner dotted on the FID panel."""
    done = trials[trials["state"] == "COMPLETE"].rename(columns=SHORT_NAMES)
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    for ax, metric in zip(axes, ("fid", "class_acc")):
        sns.lineplot(data=done, x="evaluations", y=metric, hue="sampler", style="sampler", markers=True,
                     errorbar=t_interval, err_style="bars", ax=ax, legend=metric == "class_acc")
        ax.set_xscale("log")
        ax.set_xlabel("network evaluations per sample")
        ax.set_title(metric)
    axes[0].axvline(MAX_EVALUATIONS, color="grey", linestyle=":", linewidth=1)
    axes[0].axhline(reference_fid * (1 + FID_TOLERANCE), color="grey", linestyle=":", linewidth=1)
    fig.suptitle(f"mean over seeds, 95% CI (Student's t); dotted: <= {MAX_EVALUATIONS} evaluations, "
                 f"{REFERENCE}'s FID + {FID_TOLERANCE:.0%}", y=1.04)
    return save_figure(fig, path)
