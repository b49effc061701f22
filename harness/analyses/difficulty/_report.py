"""Writes the analysis into its folder: CSV tables, plots and report.md."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from ..._util import interval_text, markdown_table, write_text
from ...config import DATASETS, Dataset
from ...core import CLASSES
from . import _plots
from ._bootstrap import significant_pairs
from ._forward import CHANCE
from ._frontier import frontier_frame
from ._run import DifficultyResult
from ._tables import curves_frame, forward_frame, pairs_frame, per_digit_frame, ranking_metric

SHOWN = ("class_acc", "informedness", "confidence", "fid", "diversity", "clip_score", "clip_zero_shot_acc")  # report.md's main table


def write_difficulty(result: DifficultyResult) -> Path:
    """Every table and plot of `result` into its folder; returns the path of report.md."""
    cfg = result.cfg
    out = cfg.out_dir()
    ranking = ranking_metric(result.estimates, cfg.rank_by)
    significant = significant_pairs(ranking)
    digits = per_digit_frame(result.estimates, ranking, significant)
    pairs = pairs_frame(significant, cfg.rank_by)
    curves = curves_frame(result.curves, result.informedness, result.timesteps)
    forward = forward_frame(result.forward)
    front = frontier_frame(result.frontier)
    tables = {"per_digit.csv": digits, "significant_pairs.csv": pairs, "recognition.csv": curves,
              "forward.csv": forward, "frontier.csv": front}
    for name, frame in tables.items():
        write_text(out / name, frame.to_csv(index=False))
    recognised = [c for c in digits.columns if c.startswith("recognised_") and not c.endswith(("_low", "_high"))]
    shown = [m for m in SHOWN if m in digits] + recognised
    about = DATASETS.get(result.run_cfg.data.dataset)
    plots = {"heatmap": _plots.heatmap(digits, shown, about, out / "plots" / "heatmap.png"),
             "bars": _plots.bars(digits, shown, about, out / "plots" / "bars.png"),
             "recognition": _plots.recognition_curves(curves, about, out / "plots" / "recognition.png"),
             "forward": _plots.forward_curves(forward, CHANCE, about, out / "plots" / "forward.png"),
             "frontier": _plots.frontier(front, about, out / "plots" / "frontier.png")}
    path = out / "report.md"
    write_text(path, markdown(result, about, digits, pairs, front, shown,
                              {k: p.relative_to(out) for k, p in plots.items()}))
    return path


def markdown(result: DifficultyResult, about: Dataset, digits: pd.DataFrame, pairs: pd.DataFrame, front: pd.DataFrame,
             shown: list[str], plots: dict[str, Path]) -> str:
    cfg, run = result.cfg, result.run_cfg
    s = run.sample
    on = "" if about.noun == "digit" else f" on {about.title}"
    lines = [f"# Per-{about.noun} difficulty: {cfg.preset} at the {cfg.budget} budget{on}", "",
             f"Seeds {', '.join(map(str, cfg.seeds))} (one trained network each, `results/runs/<hash>/`); "
             f"{cfg.per_class} generated digits per class and seed, {s.sampler} with {s.steps} steps at w = {s.guidance:g}. "
             f"Intervals: 95% two-level bootstrap ({cfg.replicates} replicates) over seeds and the samples within "
             f"each seed; FID, recall and precision are resampled over seeds only (copies of a sample bias them). "
             f"Diversity: mean pairwise distance in the reference classifier's feature space over that of real "
             f"digits (1 = as varied as MNIST). Informedness: accuracy minus the share of the other digits' "
             f"samples the classifier calls this digit (Youden's J; 0 when its verdicts ignore the image, e.g. "
             f"every sample called one digit). CLIP: {result.clip_status}.", "",
             _timing(result), "", f"## {about.plural.capitalize()}, easiest first (by {cfg.rank_by})", "",
             _digit_table(digits, shown, about), "",
             f"Significant differences in {cfg.rank_by} (two-sided bootstrap test, Holm-adjusted p < 0.05): "
             f"{_pairs_text(pairs, about)}.", "",
             f"![heatmap]({plots['heatmap']})", "", f"![bars]({plots['bars']})", "",
             "## When do digits become recognisable?", "",
             "The reference classifier judged x_t (the noisy image a viewer sees) and the network's predicted "
             "x0 at every sampling step. Recognition is read from the classifier's informedness (Youden's J): "
             "the share of a digit's samples called that digit minus the share of the other digits' samples "
             "called it. Accuracy alone would not do: the classifier calls pure noise one digit, so that digit's "
             "accuracy is high from the first step, while its J there is 0. `recognised_xt_90`: the fraction of "
             "the reverse process done from which on the digit's J on x_t stays at or above 90% of its J on the "
             "finished samples (linear interpolation within the step; - when the finished samples' J is not "
             "above 0).", "", _recognition_table(digits, about), "",
             f"![recognition]({plots['recognition']})", "", "## Forward direction (report 002)", "",
             _forward_text(result, about), "", f"![forward]({plots['forward']})", "",
             "## Fidelity against diversity over the guidance scale", "", _frontier_table(front), "",
             f"![frontier]({plots['frontier']})", "",
             "Tables: `per_digit.csv`, `significant_pairs.csv`, `recognition.csv`, `forward.csv`, `frontier.csv`."]
    return "\n".join(lines) + "\n"


def _timing(result: DifficultyResult) -> str:
    t = result.seconds
    return (f"Time on this machine: training {t['training'] / 60:.1f} min (sum over seeds, as recorded when trained), "
            f"sampling {t['sampling'] / 60:.1f} min (sum of every measured sample set), this command "
            f"{t['command'] / 60:.1f} min (reusing whatever was already trained or measured).")


def _digit_table(digits: pd.DataFrame, shown: list[str], about: Dataset) -> str:
    rows = [[r["rank"], about.label(int(r["digit"])),
             *(interval_text(r[m], r[f"{m}_low"], r[f"{m}_high"]) for m in shown),
             r["easier_than"] or "-", r["harder_than"] or "-"] for _, r in digits.iterrows()]
    return "\n".join(markdown_table(["rank", about.noun, *shown, "easier than", "harder than"], rows))


def _recognition_table(digits: pd.DataFrame, about: Dataset) -> str:
    cols = sorted(c for c in digits.columns if c.startswith("recognised_") and not c.endswith(("_low", "_high")))
    rows = [[about.label(int(r["digit"])), *(interval_text(r[c], r[f"{c}_low"], r[f"{c}_high"]) for c in cols)]
            for _, r in digits.sort_values("digit").iterrows()]
    return "\n".join(markdown_table([about.noun, *cols], rows))


def _pairs_text(pairs: pd.DataFrame, about: Dataset) -> str:
    if pairs.empty:
        return "none at this budget"
    return ", ".join(f"{about.label(a)} > {about.label(b)}" for a, b in zip(pairs["easier"], pairs["harder"]))


def _forward_text(result: DifficultyResult, about: Dataset) -> str:
    f = result.forward
    low, high = f.at_chance.interval()
    every = f"{interval_text(f.at_chance.point[-1], low[-1], high[-1])}" if not math.isnan(f.at_chance.point[-1]) else "never"
    per = ", ".join(f"{about.label(d)}: {f.at_chance.point[d]:.2f}" if not math.isnan(f.at_chance.point[d])
                    else f"{about.label(d)}: never" for d in CLASSES)
    d = result.run_cfg.diffusion
    process = f"schedule ({d.schedule}, T = {d.timesteps})" if d.formulation == "vp" else f"{d.formulation} formulation"
    return (f"Real test digits ({result.cfg.forward_per_class} per class) noised by q(x_t | x0) of this run's {process} "
            f"at {len(f.timesteps)} noise levels. The classifier's accuracy falls to within {f.margin:.2f} of chance "
            f"({CHANCE:.0%}) at a noise fraction (vp: t/T) of {every} (all digits; 95% bootstrap interval over the "
            f"digits); per digit: {per} (never: above chance up to the noisiest level, as is the digit the classifier "
            f"calls pure noise).")


def _frontier_table(front: pd.DataFrame) -> str:
    shown = ("class_acc", "diversity", "recall", "precision")
    rows = [[f"{w:g}", *(f"{g[m].mean():.3f}" for m in shown)] for w, g in front.groupby("guidance")]
    return ("Means over the ten digits (per-digit values with intervals in `frontier.csv`).\n\n" +
            "\n".join(markdown_table(["w", *shown], rows)))
