"""`harness score FILE [FILE ...]`: the sample metrics of digits from any generator, side by side."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._util import ConfigError, write_json
from ..core import CLASSES
from ..data import VALUE_RANGES, value_range
from ._common import print_warnings, result_dataset

if TYPE_CHECKING:  # the metrics load torch-fidelity: only the commands that measure import them
    from ..metrics import Column

DEFAULT_BOOTSTRAP = 100  # resamplings behind each interval (Efron & Tibshirani 1993 find 50-200 enough for a standard error)


def cmd_score(args: argparse.Namespace) -> int:
    from ..metrics import INTERVAL_KEYS, columns, parse_metrics, score_files

    if args.bootstrap < 0:
        raise ConfigError(f"--bootstrap must be 0 (no intervals) or more resamplings, got {args.bootstrap}")
    out = Path(args.json) if args.json else None
    if out is not None and out.is_dir():
        raise ConfigError(f"--json {out} is a folder; give a file path, e.g. {out / 'scores.json'}")
    metrics = parse_metrics(args.metrics) if args.metrics else None
    results = score_files([Path(p) for p in args.files], metrics, value_range(args.range), args.set, args.bootstrap,
                          args.seed)
    for result in results.values():
        print_warnings(result.get("cautions", []))
    print(format_scores(results, columns(), INTERVAL_KEYS))
    if out is not None:
        write_json(out, {"files": results})
        print(f"-> {out}")
    return 0


def format_scores(results: dict[str, dict[str, Any]], registered: list[Column], with_intervals: tuple[str, ...]) -> str:
    """Markdown tables: each file's overall figures (95% intervals where bootstrapped, the sample count beside
    FID), then each per-digit figure with one column per file."""
    names = list(results)
    overall = [c for c in registered if c.overall and any(c.key in r for r in results.values())]
    lines = ["| samples | n | " + " | ".join(c.key for c in overall) + " |", "|---" * (len(overall) + 2) + "|"]
    for name, r in results.items():
        cells = [_figure(r, c.key, with_intervals) for c in overall]
        lines.append(f"| {name} | {r['samples']['count']} | " + " | ".join(cells) + " |")
    about = result_dataset(next(iter(results.values())))  # the files are scored against one data set: its names
    header = about.noun
    for c in registered:
        if not c.per_digit or not any(c.key in v for r in results.values() for v in r["per_digit"].values()):
            continue
        lines += ["", f"{c.key} per {header} (n: samples of it)",
                  f"| {header} | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
        for d in map(str, CLASSES):
            cells = []
            for r in results.values():
                value = r["per_digit"].get(d, {}).get(c.key)
                cells.append("-" if value is None else f"{value:.4g} (n={r['samples']['per_digit'].get(d, 0)})")
            lines.append(f"| {about.label(int(d))} | " + " | ".join(cells) + " |")
    clips = {name: r["clip"] for name, r in results.items() if "clip" in r}
    for name, clip in clips.items():
        lines.append("")
        lines.append(f"clip of {name}: score {clip['clip_score']:.4g}, zero-shot accuracy {clip['clip_zero_shot_acc']:.4g}"
                     if clip.get("available") else f"clip of {name}: unavailable ({clip['reason']})")
    drawn = next((r["bootstrap"] for r in results.values() if "bootstrap" in r), None)
    if drawn:
        lines += ["", (f"[lo, hi]: {drawn['level']:.0%} bootstrap intervals from {drawn['draws']} resamplings of the "
                       f"samples within each digit: percentile for {', '.join(drawn['percentile'])}; estimate +- 1.96 "
                       f"standard errors for {', '.join(drawn['standard'])} (docs/metrics.md)")]
    return "\n".join(lines)


def _figure(result: dict[str, Any], key: str, with_intervals: tuple[str, ...]) -> str:
    if key not in result:
        return "-"
    interval = result.get("intervals", {}).get(key) if key in with_intervals else None
    return f"{result[key]:.4g}" + (f" [{interval[0]:.4g}, {interval[1]:.4g}]" if interval else "")


def register(sub: argparse._SubParsersAction) -> None:
    """Add score to the subcommands."""
    s = sub.add_parser("score", help="sample metrics (FID, KID, precision/recall, classifier accuracy, CLIP) of "
                       "digits from any generator, overall and per digit, several files side by side")
    s.add_argument("files", nargs="+", metavar="FILE",
                   help="an .npz (images (N, 28, 28) or (N, 1, 28, 28), labels (N,)), a .pt of {'images', 'labels'} "
                        "tensors, or a folder of 28x28 PNGs in subfolders 0/ .. 9/ or named <digit>_*.png")
    s.add_argument("--range", help="value range of float images: "
                   f"{' | '.join('--range=' + r for r in VALUE_RANGES)} (uint8 needs none)")
    s.add_argument("--metrics", help="comma-separated sample metrics (default: every sample metric but clip, which "
                   "needs eval.clip_weights)")
    s.add_argument("--bootstrap", type=int, default=DEFAULT_BOOTSTRAP,
                   help=f"resamplings for the 95%% intervals (default {DEFAULT_BOOTSTRAP}; 0: none)")
    s.add_argument("--seed", type=int, default=0, help="seed of the resamplings")
    s.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="data.* or eval.* override, e.g. data.dataset=fashion_mnist with data.path=DIR, or eval.clip_weights=PATH")
    s.add_argument("--json", metavar="OUT", help="also write every figure to OUT (JSON)")
    s.set_defaults(func=cmd_score)
