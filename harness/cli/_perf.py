"""Performance figures: `harness speed` (a train step against the matmul peak), `peers`, `peers-quality` and
`time-to-quality` (against diffusers and the first baseline), `perf-report` (everything in results/perf/report.md)."""

from __future__ import annotations

import argparse
from pathlib import Path

from .._util import BASELINES, ConfigError, perf_dir, resolve_device, write_text
from ..config import BUDGETS, resolve_config


def cmd_speed(args: argparse.Namespace) -> int:
    from ..metrics import measure_train_step, step_profile
    from ..perf import PROFILE_FILE, SPEED_FILE, save_train_speed

    if args.steps < 1:
        raise ConfigError(f"--steps must be >= 1 (the optimiser steps timed), got {args.steps}")
    if args.profile < 0:
        raise ConfigError(f"--profile must be >= 0 (rows of the operator table; 0: no profile), got {args.profile}")
    cfg = resolve_config(args.preset, args.budget, args.set)
    device = resolve_device(args.device)
    s = measure_train_step(cfg, device, steps=args.steps)
    print(f"{cfg.preset} at {cfg.budget} on {device}: {s.parameters:,} parameters, batch {cfg.train.batch_size}, "
          f"{s.ms_per_step:.0f} ms/step, {s.images_per_s:.0f} training images/s")
    print(f"{s.gflop_per_step:.1f} GFLOP/step -> {s.gflops:.1f} GFLOP/s = {s.fraction_of_peak:.0%} of this "
          f"machine's {s.precision} matmul peak ({s.peak_gflops:.1f} GFLOP/s: its best window before and after "
          f"the steps)")
    sets = "".join(f" --set {kv}" for kv in args.set)
    command = f"harness speed --preset {args.preset} --budget {args.budget}{sets} --steps {args.steps} --device {args.device}"
    path = perf_dir(Path(args.results)) / SPEED_FILE
    save_train_speed(path, s, cfg, device, command)
    print(f"-> {path}")
    if args.profile:
        table = step_profile(cfg, device, steps=args.steps, rows=args.profile)
        print(table)
        write_text(path.with_name(PROFILE_FILE), f"{command} --profile {args.profile}\n\n{table}\n")
        print(f"-> {path.with_name(PROFILE_FILE)}")
    return 0


def cmd_peers(args: argparse.Namespace) -> int:
    from ..perf.peers import run_peers

    path = run_peers(args.budget, Path(args.results), progress=not args.quiet, compiled=not args.eager_only,
                     interval=_peers_interval(args))
    return _show(path)


def cmd_peers_quality(args: argparse.Namespace) -> int:
    from ..perf.peers import run_peer_quality

    path = run_peer_quality(args.budget, args.seeds, Path(args.results), per_class=args.per_class,
                            interval=_peers_interval(args), progress=not args.quiet)
    return _show(path)


def cmd_time_to_quality(args: argparse.Namespace) -> int:
    from ..perf.peers import run_time_to_quality

    path = run_time_to_quality(args.budget, Path(args.results), per_class=args.per_class, progress=not args.quiet)
    return _show(path)


def _show(path: Path) -> int:
    """Print a written report and where it lies."""
    print(Path(path).read_text())
    print(f"-> {path}")
    return 0


def _peers_interval(args: argparse.Namespace) -> tuple[float, ...] | None:
    """--guidance-interval LO HI, none with --no-guidance-interval, else harness.peers.GUIDANCE_INTERVAL."""
    from ..perf.peers import GUIDANCE_INTERVAL

    return None if args.no_guidance_interval else tuple(args.guidance_interval or GUIDANCE_INTERVAL)


def cmd_perf_report(args: argparse.Namespace) -> int:
    from ..perf import INTERVAL_STUDY, SAMPLER_STUDY, write_perf_report

    results = Path(args.results)
    study = Path(args.sampler_study) if args.sampler_study else results / SAMPLER_STUDY
    interval = Path(args.interval_study) if args.interval_study else results / INTERVAL_STUDY
    print(f"-> {write_perf_report(results, Path(args.baseline), study, interval)}")
    return 0


def _add_peers_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments `harness peers` and `harness peers-quality` share."""
    parser.add_argument("--budget", default="quick", help=f"one of {', '.join(BUDGETS.names())} (default quick)")
    parser.add_argument("--results", default="results", help="results root folder")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    limited = parser.add_mutually_exclusive_group()
    limited.add_argument("--guidance-interval", nargs=2, type=float, metavar=("LO", "HI"),
                         help="the harness also draws guiding only where t/T lies in [LO, HI] (sample.guidance_interval), "
                              "judged beside the peer (default: harness.perf.peers.GUIDANCE_INTERVAL, the interval "
                              "ablations/guidance_interval.yaml measured)")
    limited.add_argument("--no-guidance-interval", action="store_true", help="leave out the limited-guidance draw")


def register(sub: argparse._SubParsersAction) -> None:
    """Add speed, peers, peers-quality, time-to-quality and perf-report to the subcommands."""
    sp = sub.add_parser("speed", help="time training steps; GFLOP/s against this machine's matmul peak in the step's precision")
    sp.add_argument("--preset", default="baseline")
    sp.add_argument("--budget", default="quick")
    sp.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    sp.add_argument("--steps", type=int, default=10, help="timed steps (after 3 warm-up steps)")
    sp.add_argument("--device", default="auto")
    sp.add_argument("--profile", type=int, default=0, metavar="ROWS",
                    help="then profile the steps: the ROWS operators with the most self time, by input shape "
                         "(-> <results>/perf/speed_profile.txt)")
    sp.add_argument("--results", default="results", help="results root: the figures go to <results>/perf/speed.json")
    sp.set_defaults(func=cmd_speed)

    pe = sub.add_parser("peers", help="the harness against diffusers' UNet2DModel + schedulers; results/perf/peers.md")
    _add_peers_arguments(pe)
    pe.add_argument("--eager-only", action="store_true",
                    help="leave out the torch.compile sampling rows (saves compiling both networks, minutes on a CPU)")
    pe.set_defaults(func=cmd_peers)

    pq = sub.add_parser("peers-quality", help="the harness's and the diffusers peer's judged quality over training "
                                              "seeds, paired; results/perf/peers_quality.md")
    _add_peers_arguments(pq)
    pq.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2],
                    help="training seeds, one peer trained per seed; seeds an earlier run recorded are read back "
                         "(default: 0 1 2)")
    pq.add_argument("--per-class", type=int, default=50, help="digits of each class judged per seed (default 50)")
    pq.set_defaults(func=cmd_peers_quality)

    tq = sub.add_parser("time-to-quality", help="recognised share and FID against training seconds for the current "
                                                "baseline, the first one and the diffusers peer, trained once here; "
                                                "results/perf/time_to_quality.md")
    tq.add_argument("--budget", default="quick", help=f"one of {', '.join(BUDGETS.names())} (default quick): the "
                                                       f"current baseline's; the others train 5/3 its steps at batch 128")
    tq.add_argument("--per-class", type=int, default=50, help="digits of each class judged per point (default 50)")
    tq.add_argument("--results", default="results", help="results root folder")
    tq.add_argument("--quiet", action="store_true", help="no progress bars")
    tq.set_defaults(func=cmd_time_to_quality)

    pr = sub.add_parser("perf-report", help="gather bench, speed, peers, peers-quality and the sampler and guidance-interval studies into results/perf/report.md")
    pr.add_argument("--results", default="results", help="results root (its perf/ holds bench.json, speed.json, peers.json)")
    pr.add_argument("--baseline", default=str(BASELINES),
                    help="the benchmark baseline to compare with, or a folder of them per class of machine "
                         "(default: %(default)s)")
    pr.add_argument("--sampler-study", help="the sampler study's folder (default: <results>/sampler)")
    pr.add_argument("--interval-study", help="the guidance-interval study's folder (default: <results>/guidance_interval)")
    pr.set_defaults(func=cmd_perf_report)
