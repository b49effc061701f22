"""A study's plots (seaborn): metrics per factor with 95% CIs, training curves, sample grids, per-digit heatmap."""

from __future__ import annotations

import math
import re
import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, never a window

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from PIL import Image  # noqa: E402

from .._util import atomic_write, mean_ci95


def t_interval(values: pd.Series) -> tuple[float, float]:
    """seaborn errorbar: the Student-t 95% interval of the mean over seeds (the report's own CIs)."""
    _, low, high = mean_ci95(values.tolist())
    return (low, high) if not math.isnan(low) else (float("nan"), float("nan"))


def metric_panels(trials: pd.DataFrame, factors: list[str], metrics: list[str], path: Path,
                  order: list[str] | None = None) -> Path | None:
    """One panel per metric: its mean per value of the first factor (hue: the others), with 95% CIs;
    `order` gives the first factor's values (as text) left to right."""
    shown = [m for m in metrics if m in trials and trials[m].notna().any()]
    if not shown:
        return None
    data = _labelled(trials, factors)
    if order is not None and not set(data["_x"]) <= set(order):  # values that print differently: keep data order
        order = None
    hued = len(factors) > 1 and data["_hue"].nunique() > 1  # factors held at one value (e.g. a fixed sampler) add no hue
    fig, axes = plt.subplots(1, len(shown), figsize=(3.6 * len(shown), 3.4), squeeze=False)
    for k, (ax, metric) in enumerate(zip(axes[0], shown)):
        last = k == len(shown) - 1  # one legend, beside the last panel
        sns.pointplot(data=data, x="_x", y=metric, hue="_hue" if hued else None, errorbar=t_interval,
                      order=order, capsize=0.15, linestyle="none", marker="o", dodge=0.3 if hued else False,
                      legend=last, ax=ax)
        if last and ax.get_legend() is not None:
            sns.move_legend(ax, "upper left", bbox_to_anchor=(1.02, 1), title=", ".join(factors[1:]), fontsize=8)
        ax.set_xlabel(factors[0])
        ax.set_title(metric)
    fig.suptitle("mean over seeds, 95% CI (Student's t)", y=1.06)
    return save_figure(fig, path)


def variant_panels(trials: pd.DataFrame, variant: str, metrics: list[str], path: Path) -> Path | None:
    """One panel per metric for variants that set different keys (a spec whose vary is a list of unlike points),
    where no factor makes a shared axis: a row per variant (column `variant`, in the order of `trials`) with its
    mean over seeds and 95% CI."""
    shown = [m for m in metrics if m in trials and trials[m].notna().any()]
    if not shown:
        return None
    data = trials.assign(_y=trials[variant].map(lambda v: wrapped(v, width=40)))
    lines = sum(line_count(label) for label in data["_y"].unique())
    fig, axes = plt.subplots(1, len(shown), figsize=(2.8 * len(shown) + 2.5, 0.28 * lines + 1.4), squeeze=False,
                             sharey=True)
    for ax, metric in zip(axes[0], shown):
        sns.pointplot(data=data, x=metric, y="_y", errorbar=t_interval, capsize=0.15, linestyle="none", marker="o",
                      ax=ax)
        ax.set_ylabel("")
        ax.set_xlabel("")
        ax.set_title(metric)
        ax.tick_params(axis="y", labelsize=8)
    fig.suptitle("mean over seeds, 95% CI (Student's t)", y=1.02)
    return save_figure(fig, path)


def training_curves(curves: pd.DataFrame, path: Path) -> Path | None:
    """Validation MSE against step, one line per training variant (mean over seeds, 95% CI band)."""
    if curves.empty:
        return None
    fig, ax = plt.subplots(figsize=(6, 3.8))
    sns.lineplot(data=curves, x="step", y="val_loss", hue="variant", errorbar=t_interval, ax=ax)
    ax.set_yscale("log")
    ax.set_ylabel("validation MSE")
    return save_figure(fig, path)


def run_curves(log: pd.DataFrame, title: str, path: Path) -> Path | None:
    """One training run's curves against step (train_log.csv): the training loss and the validation MSE of the
    raw and the EMA weights."""
    shown = {"loss": "training loss", "val_loss": "validation MSE", "val_loss_ema": "validation MSE, EMA weights"}
    shown = {column: label for column, label in shown.items() if column in log and log[column].notna().any()}
    if not shown:
        return None
    fig, ax = plt.subplots(figsize=(6, 3.8))
    for column, label in shown.items():
        rows = log[log[column].notna()]
        ax.plot(rows["step"], rows[column], marker="o" if column != "loss" else None, markersize=3, label=label)
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)
    return save_figure(fig, path)


def sample_grids(grids: list[tuple[str, Path]], path: Path, per_row: int = 5) -> Path | None:
    """The sample grids of the variants, `per_row` to a row of the figure (row k of each grid: class k); each
    title wrapped so that a long variant name never runs into its neighbour's."""
    grids = [(label, p) for label, p in grids if p.is_file()]
    if not grids:
        return None
    return save_figure(grids_figure(grids, per_row), path)


def grids_figure(grids: list[tuple[str, Path]], per_row: int) -> Figure:
    """`sample_grids`' figure: each row tall enough for the longest wrapped title, so that no title reaches into
    the grid above it, and each column wide enough for the longest title line (a setting is never broken), so that
    no title runs into its neighbour's."""
    titles = [wrapped(label, width=34) for label, _ in grids]
    title_inches = 0.16 * max(map(line_count, titles)) + 0.1  # 8-point lines and the gap below them
    longest = max(len(line) for title in titles for line in title.split("\n"))
    span = 0.9  # the share of the figure's width that the columns take (the rest: margins, trimmed when saved)
    column = max(2.6, 0.075 * longest / span)  # inches: an 8-point character (~0.065) and a gap between titles
    rows, cols = math.ceil(len(grids) / per_row), min(len(grids), per_row)
    panel = 2.2  # inches of each square grid
    fig, axes = plt.subplots(rows, cols, figsize=(column * cols, (panel + title_inches) * rows), squeeze=False,
                             gridspec_kw={"hspace": title_inches / panel, "left": (1 - span) / 2,
                                          "right": (1 + span) / 2})
    for ax in axes.flat:
        ax.axis("off")
    for ax, title, (_, p) in zip(axes.flat, titles, grids):
        with Image.open(p) as image:
            ax.imshow(image.convert("L"), cmap="gray")
        ax.set_title(title, fontsize=8)
    return fig


def per_digit_heatmap(table: pd.DataFrame, metric: str, noun: str, path: Path) -> Path | None:
    """Rows: variants; columns: the classes (`noun`: digit or class); cells: the metric's mean over seeds."""
    if table.empty:
        return None
    label = max(len(str(v)) for v in table.index)  # room for the longest variant name
    fig, ax = plt.subplots(figsize=(7 + 0.08 * label, 0.5 * len(table) + 1.5))
    sns.heatmap(table, annot=True, fmt=".2f", cmap="viridis", ax=ax, cbar_kws={"label": metric})
    ax.set_xlabel(noun)
    ax.set_ylabel("")
    return save_figure(fig, path)


def search_scatter(trials: pd.DataFrame, params: list[str], objective: str, path: Path) -> Path | None:
    """Tuning: the objective against each searched value, one panel per parameter."""
    done = trials[trials["state"] == "COMPLETE"] if "state" in trials else trials
    if done.empty or objective not in done:
        return None
    fig, axes = plt.subplots(1, len(params), figsize=(3.8 * len(params), 4.2), squeeze=False)
    for ax, param in zip(axes[0], params):
        sns.scatterplot(data=done.assign(_v=done[param].astype(str) if done[param].dtype == object else done[param]),
                        x="_v", y=objective, ax=ax)
        ax.set_xlabel(param)
        ax.tick_params(axis="x", labelrotation=45)
    return save_figure(fig, path)


def _labelled(trials: pd.DataFrame, factors: list[str]) -> pd.DataFrame:
    data = trials.assign(_x=trials[factors[0]].map(as_text))
    if len(factors) > 1:
        data["_hue"] = data[factors[1:]].apply(lambda row: ", ".join(as_text(v) for v in row), axis=1)
    return data


NO_BREAK = "\u00a0"  # textwrap breaks at ASCII whitespace only


def wrapped(label: str, width: int) -> str:
    """A variant's `key=value, ...` label on lines of at most `width` characters, broken between settings and
    never inside one (a setting longer than `width` keeps a line of its own). A list value such as `[0.2, 0.8]` has
    a space of its own, which is held unbreakable while the label is filled."""
    held = re.sub(r"\[[^\]]*\]", lambda m: m.group().replace(" ", NO_BREAK), label)
    return textwrap.fill(held, width=width, break_long_words=False).replace(NO_BREAK, " ")


def line_count(text: str) -> int:
    return text.count("\n") + 1


def as_text(value: object) -> str:
    """A factor's value as shown; a grid point that leaves a key out keeps the base config's value. A column with
    such a gap is read back as floats, so a whole float shows as the integer the spec gave (1200, not 1200.0)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "(base)"
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def save_figure(fig: Figure, path: Path) -> Path:
    fig.subplots_adjust(wspace=0.35)  # bbox_inches="tight" below trims the margins to the labels
    atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=110, bbox_inches="tight"))
    plt.close(fig)
    return path
