"""The analysis's figures: per-digit heatmap and bars, recognition curves (reverse and forward), the
guidance frontier."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from ...config import Dataset
from ...studies import save_figure
from ._estimates import direction

PALETTE = "tab10"  # one colour per digit, the same in every figure


def heatmap(frame: pd.DataFrame, metrics: list[str], about: Dataset, path: Path) -> Path:
    """Rows: metrics; columns: digits, easiest first; colour: the value standardised per row (so
    metrics of different scales share one map), blue = easier (sign flipped where lower is easier, e.g.
    FID); text: the value."""
    values = frame.set_index(frame["digit"].map(about.label))[metrics].T  # (M, 10)
    z = values.sub(values.mean(axis=1), axis=0).div(values.std(axis=1).replace(0, 1), axis=0)
    z = z.mul([-1 if direction(m) < 0 else 1 for m in metrics], axis=0)
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(metrics) + 1.6))
    limit = float(np.nanmax(np.abs(z.to_numpy()))) if z.notna().any().any() else 1.0
    # symmetric limits centre the diverging map at 0 (seaborn's center= argument calls a deprecated matplotlib API)
    sns.heatmap(z, annot=values.to_numpy(), fmt=".2f", cmap="vlag_r", vmin=-limit, vmax=limit, ax=ax,
                cbar_kws={"label": "standardised per metric (blue: easier)"}, annot_kws={"fontsize": 7})
    ax.set_xlabel(f"{about.noun} (easiest first)")
    ax.set_ylabel("")
    return save_figure(fig, path)


def bars(frame: pd.DataFrame, metrics: list[str], about: Dataset, path: Path) -> Path:
    """One panel per metric: each class's value with its 95% interval, classes in rank order."""
    fig, axes = plt.subplots(1, len(metrics), figsize=(3.2 * len(metrics), 3.2), squeeze=False)
    order = frame["digit"].map(about.label).tolist()
    for ax, m in zip(axes[0], metrics):
        err = np.vstack([frame[m] - frame[f"{m}_low"], frame[f"{m}_high"] - frame[m]]).clip(min=0)
        colours = [sns.color_palette(PALETTE, 10)[int(d)] for d in frame["digit"]]
        ax.bar(order, frame[m], yerr=err, capsize=2, color=colours)
        ax.set_title(m, fontsize=9)
        ax.set_xlabel(f"{about.noun} (easiest first)", fontsize=8)
        if not about.numbered:  # names, not single digits: turned to fit
            ax.tick_params(axis="x", labelrotation=90, labelsize=7)
    fig.suptitle(f"per {about.noun}, 95% bootstrap interval over seeds and samples", y=1.04)
    return save_figure(fig, path)


def recognition_curves(curves: pd.DataFrame, about: Dataset, path: Path) -> Path:
    """Per digit along the reverse process, on x_t (left) and on predicted x0 (right): the classifier's
    accuracy (top) and its informedness, accuracy minus the share of other digits called this one (bottom)."""
    fig, axes = plt.subplots(2, 2, figsize=(11, 7), sharex=True, sharey="row")
    for col, (on, title) in enumerate((("xt", "on x_t (what a viewer sees)"), ("x0", "on the predicted x0"))):
        part = curves[curves["on"] == on]
        for row, (value, low, high) in enumerate((("accuracy", "low", "high"),
                                                  ("informedness", "informedness_low", "informedness_high"))):
            ax = axes[row, col]
            for d, g in part.groupby("digit"):
                colour = sns.color_palette(PALETTE, 10)[int(d)]
                ax.plot(g["fraction_done"], g[value], color=colour, label=about.label(int(d)))
                ax.fill_between(g["fraction_done"], g[low], g[high], color=colour, alpha=0.15)
        axes[0, col].set_title(title, fontsize=10)
        axes[1, col].set_xlabel("fraction of the reverse process done")
    axes[0, 0].set_ylabel("classifier accuracy")
    axes[1, 0].set_ylabel("informedness (Youden's J)")
    axes[0, 1].legend(title=about.noun, bbox_to_anchor=(1.02, 1), loc="upper left", fontsize=8)
    return save_figure(fig, path)


def forward_curves(forward: pd.DataFrame, chance: float, about: Dataset, path: Path) -> Path:
    """Accuracy on real digits noised to t (forward process), per digit and for all; the chance line."""
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    for name, g in forward.groupby("digit", sort=False):
        every = name == "all"
        colour = "black" if every else sns.color_palette(PALETTE, 10)[int(name)]
        ax.plot(g["t_fraction"], g["accuracy"], color=colour, lw=2.2 if every else 1.0,
                label=name if every else about.label(int(name)))
        if every:
            ax.fill_between(g["t_fraction"], g["low"], g["high"], color=colour, alpha=0.15)
    ax.axhline(chance, ls="--", color="grey", lw=1)
    ax.set_xlabel("noise fraction, vp: t / T (forward process)")
    ax.set_ylabel("classifier accuracy")
    ax.legend(title=about.noun, bbox_to_anchor=(1.02, 1), loc="upper left", fontsize=8)
    return save_figure(fig, path)


def frontier(frame: pd.DataFrame, about: Dataset, path: Path) -> Path:
    """Per digit, accuracy against diversity (left) and recall (right), one point per guidance w."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    means = frame.groupby("guidance")[["class_acc", "diversity", "recall"]].mean().reset_index()
    for ax, x in zip(axes, ("diversity", "recall")):
        for d, g in frame.groupby("digit"):
            ax.plot(g[x], g["class_acc"], marker="o", ms=3, lw=0.8, color=sns.color_palette(PALETTE, 10)[int(d)],
                    label=about.label(int(d)))
        ax.plot(means[x], means["class_acc"], marker="s", color="black", lw=2, label="mean")
        for _, row in means.iterrows():
            ax.annotate(f"w={row['guidance']:g}", (row[x], row["class_acc"]), fontsize=7, xytext=(4, -8),
                        textcoords="offset points")
        ax.set_xlabel(f"{x} (1 = as varied as real digits)" if x == "diversity" else "recall")
    axes[0].set_ylabel("classifier accuracy")
    axes[1].legend(title=about.noun, bbox_to_anchor=(1.02, 1), loc="upper left", fontsize=8)
    fig.suptitle("fidelity against diversity over the guidance scale w (mean over seeds)", y=1.02)
    return save_figure(fig, path)
