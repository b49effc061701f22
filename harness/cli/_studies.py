"""Studies: `harness ablate` (a grid x seeds), `tune` (TPE search), `report` (tables and plots from storage),
`dashboard` (optuna-dashboard on a study)."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

from .._util import ConfigError

if TYPE_CHECKING:
    from ..studies import StudySpec

GRACE_S = 180.0  # default --grace: harness.studies.GRACE_S (not imported here: the light commands skip optuna)


def cmd_ablate(args: argparse.Namespace) -> int:
    from ..studies import load_spec

    spec = load_spec(args.spec).at_budget(args.budget)
    if spec.tuning:
        raise ConfigError(f"{args.spec} is a tuning spec (it has search:); run it with `harness tune {args.spec}`")
    return _run(spec, args)


def cmd_tune(args: argparse.Namespace) -> int:
    from ..studies import load_spec

    spec = load_spec(args.spec).at_budget(args.budget)
    if not spec.tuning:
        raise ConfigError(f"{args.spec} is an ablation grid (it has vary:); run it with `harness ablate {args.spec}`")
    if args.trials is not None:
        if args.trials < 1:
            raise ConfigError(f"--trials must be >= 1, got {args.trials}")
        spec = dataclasses.replace(spec, trials=args.trials)
    return _run(spec, args)


def _run(spec: StudySpec, args: argparse.Namespace) -> int:
    from ..studies import run_study, study_dir, write_report

    if args.workers < 1:
        raise ConfigError(f"--workers must be >= 1, got {args.workers}")
    if args.grace <= 0:
        raise ConfigError(f"--grace must be > 0 seconds, got {args.grace}")
    results = Path(args.results)
    study = run_study(spec, results, args.storage, progress=not args.quiet, workers=args.workers, grace_s=args.grace)
    report = write_report(study, spec, study_dir(spec, results))
    print(f"study {spec.name}: report {report}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from ..studies import load_existing_study, write_report

    spec, folder = _recorded(args)
    print(f"report: {write_report(load_existing_study(spec, folder, args.storage), spec, folder)}")
    return 0


def cmd_dashboard(args: argparse.Namespace) -> int:
    import optuna

    from ..studies import (
        ARTIFACTS,
        attach_missing_artifacts,
        check_listenable,
        existing_storage,
        require_dashboard,
        serve_dashboard,
    )

    if not 0 < args.port < 65536:
        raise ConfigError(f"--port must be a TCP port, 1 to 65535, got {args.port}")
    require_dashboard()
    spec, folder = _recorded(args)
    storage = existing_storage(spec, folder, args.storage)
    check_listenable(args.host, args.port)  # before the earlier trials' pictures are attached
    gained = attach_missing_artifacts(optuna.load_study(study_name=spec.name, storage=storage), storage, folder)
    if gained:
        print(f"{gained} trials ran before trials carried their pictures: their sample grids are now the study's "
              f"artifacts, trial-NNNN-samples.png ({folder / ARTIFACTS})")
    print(f"study {spec.name}: optuna-dashboard at http://{args.host}:{args.port}/dashboard (Ctrl-C stops it)",
          flush=True)
    serve_dashboard(storage, folder, args.host, args.port)
    return 0


def _recorded(args: argparse.Namespace) -> tuple[StudySpec, Path]:
    """The spec and results folder of the study named on the command line (results/<study>/spec.json)."""
    from ..studies import read_spec_json, spec_from_json

    folder = Path(args.results) / args.study
    if not (folder / "spec.json").is_file():
        raise ConfigError(f"{folder} holds no study (no spec.json); run `harness ablate SPEC.yaml` first")
    return spec_from_json(read_spec_json(folder / "spec.json")), folder


def _study_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--budget", help="override the spec's budget: smoke | quick | full")
    p.add_argument("--storage", help="SQLAlchemy URL, e.g. postgresql://user@host/db (default: sqlite file "
                                     "results/<study>/study.db)")
    p.add_argument("--workers", type=int, default=1, help="local worker processes sharing the study (default 1)")
    p.add_argument("--grace", type=float, default=GRACE_S,
                   help=f"seconds without a heartbeat after which another host's running trial is retried (default {GRACE_S:g})")
    p.add_argument("--results", default="results", help="results root folder")
    p.add_argument("--quiet", action="store_true", help="no progress bars or lines")


def register(sub: argparse._SubParsersAction) -> None:
    """Add ablate, tune and report to the subcommands."""
    ab = sub.add_parser("ablate", help="run an ablation study spec (grid x seeds) and write its tables and plots")
    ab.add_argument("spec", help="ablations/NAME.yaml")
    _study_options(ab)
    ab.set_defaults(func=cmd_ablate)

    tu = sub.add_parser("tune", help="run a tuning spec (TPE, pruned by validation MSE) and write its tables and plots")
    tu.add_argument("spec", help="ablations/tune.yaml")
    tu.add_argument("--trials", type=int, help="how many configurations to try (default: the spec's trials)")
    _study_options(tu)
    tu.set_defaults(func=cmd_tune)

    rp = sub.add_parser("report", help="rebuild a study's trials.csv, summary.csv and report.md from its storage")
    rp.add_argument("study")
    rp.add_argument("--storage")
    rp.add_argument("--results", default="results")
    rp.set_defaults(func=cmd_report)

    db = sub.add_parser("dashboard", help="browse a study in optuna-dashboard: its trials, parameters, metrics and "
                                          "each trial's sample grid and training curves")
    db.add_argument("study", help="the study's name: its folder under --results")
    db.add_argument("--port", type=int, default=8080, help="TCP port (default 8080)")
    db.add_argument("--host", default="127.0.0.1",
                    help="address to listen on (default 127.0.0.1: this machine only; 0.0.0.0 opens it to the network)")
    db.add_argument("--storage", help="SQLAlchemy URL of the study's database (default: results/<study>/study.db)")
    db.add_argument("--results", default="results", help="results root folder")
    db.set_defaults(func=cmd_dashboard)
