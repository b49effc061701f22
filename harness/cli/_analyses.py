"""Analyses across many runs: `harness difficulty` (per digit), `reproduce` (the five reports' claims),
`reliability` (bad inputs and kill drills)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from .._util import ConfigError
from ..config import BUDGETS
from ._common import comma_list, warn_cautions

if TYPE_CHECKING:
    from ..analyses.difficulty import DifficultyConfig


def cmd_difficulty(args: argparse.Namespace) -> int:
    from ..analyses.difficulty import run_difficulty, write_difficulty

    cfg = _difficulty_config(args)
    warn_cautions(cfg.run_config(cfg.seeds[0]))
    path = write_difficulty(run_difficulty(cfg, progress=not args.quiet))
    print(f"-> {path}")
    return 0


def _difficulty_config(args: argparse.Namespace) -> DifficultyConfig:
    from ..analyses.difficulty import DifficultyConfig

    optional = {"guidance": args.guidance, "seeds": args.seeds, "replicates": args.replicates, "rank_by": args.rank_by}
    return DifficultyConfig(preset=args.preset, budget=args.budget, overrides=tuple(args.set),
                            samples_per_class=args.per_class, frontier_per_class=args.frontier_per_class,
                            results=Path(args.results),
                            **{k: v for k, v in optional.items() if v is not None})


def cmd_reproduce(args: argparse.Namespace) -> int:
    from ..analyses.reproduce import run_reproduce

    path = run_reproduce(args.budget, Path(args.results), progress=not args.quiet, only=args.only)
    print(f"-> {path}")
    return 0


def cmd_reliability(args: argparse.Namespace) -> int:
    from ..reliability import run_reliability

    if args.kills < 1:
        raise ConfigError(f"--kills must be >= 1, got {args.kills}")
    command = "harness reliability" + "".join(f" {a}" for a in sys.argv[2:])
    out, ok = run_reliability(Path(args.out), args.kills, args.seed, args.storage, command)
    print(f"reliability: {'every check held' if ok else 'SOME CHECKS FAILED'}; report {out}")
    return 0 if ok else 1


def _difficulty_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--preset", default="baseline", help="the configuration analysed (default baseline)")
    p.add_argument("--budget", default="quick", help=f"one of {', '.join(BUDGETS.names())} (default quick)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="config override for every seed")
    p.add_argument("--seeds", type=comma_list(int), help="training seeds (default 0,1,2)")
    p.add_argument("--per-class", type=int, help="generated digits per class and seed (default: the budget's)")
    p.add_argument("--guidance", type=comma_list(float), help="w values of the frontier (default 0,1,3,5,7,9)")
    p.add_argument("--frontier-per-class", type=int, help="digits per class, seed and w on the frontier")
    p.add_argument("--rank-by", help="the metric that orders digits (default informedness: accuracy minus the "
                                     "share of other digits called this one)")
    p.add_argument("--replicates", type=int, help="bootstrap replicates (default 1000)")
    p.add_argument("--results", default="results", help="results root: networks in runs/, the analysis in difficulty*/")
    p.add_argument("--quiet", action="store_true", help="no progress lines")


def register(sub: argparse._SubParsersAction) -> None:
    """Add difficulty, reproduce and reliability to the subcommands."""
    df = sub.add_parser("difficulty", help="per-digit difficulty, recognisability along sampling, guidance frontier")
    _difficulty_options(df)
    df.set_defaults(func=cmd_difficulty)

    rp = sub.add_parser("reproduce", help="run every claim's experiment; write results/reproduce/claims.md and .csv")
    rp.add_argument("--budget", default="quick", help=f"one of {', '.join(BUDGETS.names())} (default quick)")
    rp.add_argument("--results", default="results", help="results root folder")
    rp.add_argument("--only", type=comma_list(str), default=(),
                    help="claims whose id or experiment starts with these, e.g. 002,difficulty")
    rp.add_argument("--quiet", action="store_true", help="no progress lines")
    rp.set_defaults(func=cmd_reproduce)

    rl = sub.add_parser("reliability", help="try every bad input and kill drills; write results/reliability.md")
    rl.add_argument("--kills", type=int, default=4, help="random kills per drill (default 4)")
    rl.add_argument("--seed", type=int, default=0, help="seeds the kill moments and signals")
    rl.add_argument("--storage", help="run the study drill on this database URL (default: SQLite)")
    rl.add_argument("--out", default="results/reliability.md")
    rl.set_defaults(func=cmd_reliability)
