"""The `harness` command line: train, sample, components, presets."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from .allocator import keep_freed_memory
from .bench import BASELINES
from .config import FULL_INTERVAL, RunConfig, load_yaml, with_overrides
from .errors import ConfigError, HarnessError, Interrupted
from .presets import BUDGETS, PRESETS, resolve_config

if TYPE_CHECKING:
    from .bench import Comparison
    from .spec import StudySpec

GRACE_S = 180.0  # default --grace: harness.study.GRACE_S (not imported here: the light commands skip optuna)
BENCH_RUNS = 3  # default --runs of bench-against: harness.bench_against.RUNS (imported only when that command runs)

INTERRUPTED = 130  # exit status after Ctrl-C, as a shell reports SIGINT

Command = Callable[[argparse.Namespace], int]

# after a failed check against a committed baseline (harness.bench_against says why)
OTHER_HOST_HINT = (". If no code changed, this machine may run a benchmark and its calibration kernel at other "
                   "relative speeds than the baseline's host (in matmul units, three AVX2 hosts of this project read "
                   "28-78% apart); `make bench-check BASE=<revision>` measures that revision here, in turns with this "
                   "checkout")


def cmd_train(args: argparse.Namespace) -> int:
    base = load_yaml(args.config) if args.config else None
    cfg = resolve_config(args.preset, args.budget, args.set, base=base)
    from .train import train  # heavy imports only for the commands that need them

    _warn(cfg)
    out = Path(args.out)
    result = train(cfg, out, progress=not args.quiet)
    print(result.message)
    if result.status != "finished":
        return 3
    if result.images_per_s:
        print(f"{result.images_per_s:.0f} training images/s over {result.seconds:.0f} s; "
              f"validation MSE {result.val_loss:.4f}")
    print(f"samples: {out / 'samples.png'}")
    return 0


def cmd_sample(args: argparse.Namespace) -> int:
    import torch  # torch loads inside main(), so Ctrl-C while it loads is still caught there

    from .checkpoint import load_trained
    from .devices import resolve_device
    from .generate import generate, grid_labels, to_uint8
    from .samplefile import save_samples

    device = resolve_device(args.device)
    trained = load_trained(Path(args.run_dir), use_ema=not args.raw_weights, device=device)
    cfg = with_overrides(trained.cfg, [
        f"sample.sampler={args.sampler}", f"sample.steps={args.steps}", f"sample.guidance={args.guidance}",
        f"sample.eta={args.eta}", f"sample.spacing={args.spacing}", f"sample.batch_size={args.batch_size}",
        f"sample.precision={args.precision}", f"sample.guidance_interval={list(args.guidance_interval)}"], ("sample",))
    _warn(cfg)
    labels = grid_labels(args.per_class)
    g = torch.Generator(device=device).manual_seed(args.seed)
    t0 = time.perf_counter()
    images = to_uint8(generate(trained.model, trained.diffusion, cfg.sample, labels, cfg.data.image_size, g)).cpu().numpy()
    seconds = time.perf_counter() - t0
    out = Path(args.out)
    save_samples(out, torch.from_numpy(images), labels)
    lo, hi = cfg.sample.guidance_interval
    where = "" if (lo, hi) == FULL_INTERVAL else f" at t/T in [{lo:g}, {hi:g}]"
    print(f"{len(images)} samples ({cfg.sample.sampler}, {cfg.sample.steps} steps, w={cfg.sample.guidance}{where}) "
          f"in {seconds:.1f} s ({len(images) / seconds:.1f} images/s) -> {out}")
    return 0


def _warn(cfg: RunConfig) -> None:
    from .cautions import cautions

    _print_warnings(cautions(cfg))


def _print_warnings(cautions: list[str]) -> None:
    for caution in cautions:
        print(f"warning: {caution}", file=sys.stderr)


def cmd_components(args: argparse.Namespace) -> int:
    from .diffusion import PREDICTIONS
    from .layers import ACTIVATIONS, TIME_EMBEDDINGS
    from .samplers import SAMPLERS, SPACINGS
    from .schedules import SCHEDULES

    for reg in (SCHEDULES, PREDICTIONS, SAMPLERS, SPACINGS, TIME_EMBEDDINGS, ACTIVATIONS, PRESETS, BUDGETS):
        print(f"{reg.family:15s} {', '.join(reg.names()):45s} {reg.doc}")
    return 0


def cmd_presets(args: argparse.Namespace) -> int:
    from .checkpoint import build_model
    from .unet import count_parameters

    for name in PRESETS.names():
        cfg = resolve_config(name, "quick")
        m, d = cfg.model, cfg.diffusion
        params = count_parameters(build_model(cfg))
        print(f"{name:10s} channels={list(m.channels)} {cfg.data.image_size}x{cfg.data.image_size} "
              f"T={d.timesteps} {d.schedule} conditioning={m.conditioning} ema={cfg.train.ema} params={params:,}")
    for b in BUDGETS.names():
        budget = BUDGETS.get(b)
        print(f"budget {b:6s} {budget.steps} steps x batch {budget.batch_size}: {budget.description}")
    return 0


def cmd_classifier(args: argparse.Namespace) -> int:
    from .config import DataConfig
    from .data import bundled_mnist_path, load_mnist
    from .metrics.reference import SHIPPED_DIR, load_or_train, ship

    data = load_mnist(DataConfig())
    if args.ship:
        loaded = ship(data, bundled_mnist_path(), progress=True)
        print(f"shipped: {loaded.path} ({loaded.test_accuracy:.2%} on the 10,000 MNIST test digits); commit {SHIPPED_DIR}")
        return 0
    loaded = load_or_train(data, bundled_mnist_path(), progress=True)
    state = {"shipped": "shipped with the harness", "cache": "from the cache", "trained": "trained now"}[loaded.origin]
    print(f"reference classifier ({state}): {loaded.test_accuracy:.2%} on the 10,000 MNIST test digits; {loaded.path}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from .evaluate import evaluate, parse_metrics

    metrics = parse_metrics(args.metrics)
    result = evaluate(Path(args.run_dir), metrics, Path(args.samples) if args.samples else None, args.per_class,
                      args.seed, args.set)
    _print_warnings(result.get("cautions", []))
    print(format_metrics(result))
    print(f"-> {Path(args.run_dir) / 'metrics.json'}")
    return 0


def format_metrics(result: dict) -> str:
    """A plain-text table: overall figures, then one row per digit."""
    lines = []
    if "samples" in result:
        lines.append(f"samples: {result['samples']['count']} ({result['samples']['source']})")
    overall = [k for k in ("fid", "kid", "precision", "recall", "class_acc", "confidence", "diversity", "mse") if k in result]
    lines.append("  ".join(f"{k}={result[k]:.4g}" for k in overall))
    columns = [k for k in ("class_acc", "confidence", "diversity_ratio", "fid", "kid", "precision", "recall",
                           "clip_score", "clip_zero_shot_acc", "clip_preference")
               if any(k in v for v in result["per_digit"].values())]
    if columns:
        lines.append("digit " + "".join(f"{c:>16s}" for c in columns))
        for d, values in sorted(result["per_digit"].items()):
            lines.append(f"{d:>5s} " + "".join(f"{values.get(c, float('nan')):16.4g}" for c in columns))
    if "speed" in result:
        lines.append("speed: " + ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in result["speed"].items()))
    clip = result.get("clip", {})
    if clip.get("available"):
        lines.append(f"clip ({clip['model']}): score={clip['clip_score']:.4g} zero-shot acc={clip['clip_zero_shot_acc']:.4g} "
                     f"preference '{clip['clip_preference_pair'][0]}' over '{clip['clip_preference_pair'][1]}'={clip['clip_preference']:.4g}")
    elif clip:
        lines.append(f"clip: unavailable ({clip['reason']})")
    return "\n".join(lines)


def cmd_ablate(args: argparse.Namespace) -> int:
    from .spec import load_spec

    spec = load_spec(args.spec).at_budget(args.budget)
    if spec.tuning:
        raise ConfigError(f"{args.spec} is a tuning spec (it has search:); run it with `harness tune {args.spec}`")
    return _run(spec, args)


def cmd_tune(args: argparse.Namespace) -> int:
    import dataclasses

    from .spec import load_spec

    spec = load_spec(args.spec).at_budget(args.budget)
    if not spec.tuning:
        raise ConfigError(f"{args.spec} is an ablation grid (it has vary:); run it with `harness ablate {args.spec}`")
    if args.trials is not None:
        if args.trials < 1:
            raise ConfigError(f"--trials must be >= 1, got {args.trials}")
        spec = dataclasses.replace(spec, trials=args.trials)
    return _run(spec, args)


def _run(spec: StudySpec, args: argparse.Namespace) -> int:
    from .report import write_report
    from .study import run_study, study_dir

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
    from .report import write_report
    from .spec import read_spec_json, spec_from_json
    from .study import load_existing_study

    folder = Path(args.results) / args.study
    if not (folder / "spec.json").is_file():
        raise ConfigError(f"{folder} holds no study (no spec.json); run `harness ablate SPEC.yaml` first")
    spec = spec_from_json(read_spec_json(folder / "spec.json"))
    print(f"report: {write_report(load_existing_study(spec, folder, args.storage), spec, folder)}")
    return 0


def cmd_speed(args: argparse.Namespace) -> int:
    from .devices import resolve_device
    from .metrics.speed import measure_train_step
    from .perf import SPEED_FILE, save_train_speed

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
    path = Path(args.results) / "perf" / SPEED_FILE
    save_train_speed(path, s, cfg, device, command)
    print(f"-> {path}")
    return 0


def cmd_difficulty(args: argparse.Namespace) -> int:
    from .difficulty import run_difficulty, write_difficulty

    cfg = _difficulty_config(args)
    _warn(cfg.run_config(cfg.seeds[0]))
    path = write_difficulty(run_difficulty(cfg, progress=not args.quiet))
    print(f"-> {path}")
    return 0


def cmd_reproduce(args: argparse.Namespace) -> int:
    from .reproduce import run_reproduce

    path = run_reproduce(args.budget, Path(args.results), progress=not args.quiet, only=args.only)
    print(f"-> {path}")
    return 0


def cmd_peers(args: argparse.Namespace) -> int:
    from .peers import run_peers

    path = run_peers(args.budget, Path(args.results), progress=not args.quiet, compiled=not args.eager_only,
                     interval=_peers_interval(args))
    print(Path(path).read_text())
    print(f"-> {path}")
    return 0


def cmd_peers_quality(args: argparse.Namespace) -> int:
    from .peers import run_peer_quality

    path = run_peer_quality(args.budget, args.seeds, Path(args.results), per_class=args.per_class,
                            interval=_peers_interval(args), progress=not args.quiet)
    print(Path(path).read_text())
    print(f"-> {path}")
    return 0


def _peers_interval(args: argparse.Namespace) -> tuple[float, ...] | None:
    """--guidance-interval LO HI, none with --no-guidance-interval, else harness.peers.GUIDANCE_INTERVAL."""
    from .peers import GUIDANCE_INTERVAL

    return None if args.no_guidance_interval else tuple(args.guidance_interval or GUIDANCE_INTERVAL)


def _difficulty_config(args: argparse.Namespace):  # noqa: ANN202 (a DifficultyConfig; imported lazily)
    from .difficulty import DifficultyConfig

    optional = {"guidance": args.guidance, "seeds": args.seeds, "replicates": args.replicates, "rank_by": args.rank_by}
    return DifficultyConfig(preset=args.preset, budget=args.budget, overrides=tuple(args.set),
                            samples_per_class=args.per_class, frontier_per_class=args.frontier_per_class,
                            results=Path(args.results),
                            **{k: v for k, v in optional.items() if v is not None})


def _comma_list(kind: type) -> Callable[[str], tuple]:
    """argparse type: a comma-separated list of `kind`, e.g. --seeds 0,1,2."""
    def parse(text: str) -> tuple:
        try:
            return tuple(kind(x.strip()) for x in text.split(",") if x.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of {kind.__name__}s, e.g. 0,1,2") from None
    return parse


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error in one line, like every other harness error."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"harness: error: {message} (see `{self.prog} --help`)\n")


def cmd_reliability(args: argparse.Namespace) -> int:
    from .reliability import run_reliability

    if args.kills < 1:
        raise ConfigError(f"--kills must be >= 1, got {args.kills}")
    command = "harness reliability" + "".join(f" {a}" for a in sys.argv[2:])
    out, ok = run_reliability(Path(args.out), args.kills, args.seed, args.storage, command)
    print(f"reliability: {'every check held' if ok else 'SOME CHECKS FAILED'}; report {out}")
    return 0 if ok else 1


def cmd_perf_report(args: argparse.Namespace) -> int:
    from .perf import INTERVAL_STUDY, SAMPLER_STUDY, write_perf_report

    results = Path(args.results)
    study = Path(args.sampler_study) if args.sampler_study else results / SAMPLER_STUDY
    interval = Path(args.interval_study) if args.interval_study else results / INTERVAL_STUDY
    print(f"-> {write_perf_report(results, Path(args.baseline), study, interval)}")
    return 0


def cmd_bench_compare(args: argparse.Namespace) -> int:
    from .bench import baseline_for, compare

    _check_tolerance(args.tolerance)
    current = Path(args.current)
    baseline = baseline_for(current, Path(args.baseline))
    return _bench_verdict(compare(current, baseline), current, baseline, args, OTHER_HOST_HINT)


def cmd_bench_against(args: argparse.Namespace) -> int:
    from .bench_against import AGAINST_FOLDER, bench_against

    _check_tolerance(args.tolerance)
    m = bench_against(args.rev, Path(args.results) / "perf" / AGAINST_FOLDER, args.runs, args.device, args.k)
    return _bench_verdict(m.rows(), m.head, m.base, args)


def _check_tolerance(tolerance: float) -> None:
    if tolerance <= 0:
        raise ConfigError(f"--tolerance must be > 0 (0.25 = 25% slower fails), got {tolerance}")


def _bench_verdict(rows: list[Comparison], current: Path, baseline: Path, args: argparse.Namespace,
                   hint: str = "") -> int:
    """Print the table of `current` against `baseline` (and write it to args.report); with args.check, exit
    status 1 when a benchmark regressed, the `hint` after the names."""
    from .bench import comparison_table, matmul_fallback_lines, perf_markdown, regressions

    print(f"{current} against {baseline}")
    print(comparison_table(rows, args.tolerance))
    for line in matmul_fallback_lines(rows):  # none where every row is in its own kernel's units
        print(line)
    if args.report:
        from .files import write_text

        write_text(args.report, perf_markdown(rows, current, baseline, args.command_name, args.tolerance))
        print(f"-> {args.report}")
    slow = regressions(rows, args.tolerance)
    if slow:
        print(f"{len(slow)} benchmark(s) more than {args.tolerance:.0%} slower than {baseline} in calibration "
              f"units: {', '.join(r.name for r in slow)}{hint}", file=sys.stderr)
        return 1 if args.check else 0
    print(f"no benchmark more than {args.tolerance:.0%} slower than {baseline}")
    return 0


def _add_verdict_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tolerance", type=float, default=0.25, help="relative slow-down that counts as a regression")
    parser.add_argument("--check", action="store_true", help="exit 1 when any benchmark regressed")
    parser.add_argument("--report", help="also write the table with the machine's description to this markdown file")


def cmd_bench_baseline(args: argparse.Namespace) -> int:
    from .bench import record_baseline

    print(f"-> {record_baseline(Path(args.run), Path(args.into))} (commit it: bench-check compares this class of "
          f"machine with it)")
    return 0


def cmd_bench_median(args: argparse.Namespace) -> int:
    from .bench import median_run
    from .files import write_json

    write_json(Path(args.out), median_run([Path(p) for p in args.runs]))
    print(f"-> {args.out} (each benchmark from the run with its median figure, of {len(args.runs)})")
    return 0


def _difficulty_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--preset", default="baseline", help="the configuration analysed (default baseline)")
    p.add_argument("--budget", default="quick", help=f"one of {', '.join(BUDGETS.names())} (default quick)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="config override for every seed")
    p.add_argument("--seeds", type=_comma_list(int), help="training seeds (default 0,1,2)")
    p.add_argument("--per-class", type=int, help="generated digits per class and seed (default: the budget's)")
    p.add_argument("--guidance", type=_comma_list(float), help="w values of the frontier (default 0,1,3,5,7,9)")
    p.add_argument("--frontier-per-class", type=int, help="digits per class, seed and w on the frontier")
    p.add_argument("--rank-by", help="the metric that orders digits (default informedness: accuracy minus the "
                                     "share of other digits called this one)")
    p.add_argument("--replicates", type=int, help="bootstrap replicates (default 1000)")
    p.add_argument("--results", default="results", help="results root: networks in runs/, the analysis in difficulty*/")
    p.add_argument("--quiet", action="store_true", help="no progress lines")



def _add_peers_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments `harness peers` and `harness peers-quality` share."""
    parser.add_argument("--budget", default="quick", help=f"one of {', '.join(BUDGETS.names())} (default quick)")
    parser.add_argument("--results", default="results", help="results root folder")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    limited = parser.add_mutually_exclusive_group()
    limited.add_argument("--guidance-interval", nargs=2, type=float, metavar=("LO", "HI"),
                         help="the harness also draws guiding only where t/T lies in [LO, HI] (sample.guidance_interval), "
                              "judged beside the peer (default: harness.peers.GUIDANCE_INTERVAL, the interval "
                              "ablations/guidance_interval.yaml measured)")
    limited.add_argument("--no-guidance-interval", action="store_true", help="leave out the limited-guidance draw")

def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="harness", description="Benchmark and ablation harness for class-conditional diffusion on MNIST")
    sub = p.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train a preset into a run folder (resumes if the folder holds one)")
    t.add_argument("--preset", default="baseline", help=f"one of {', '.join(PRESETS.names())}")
    t.add_argument("--config", help="a YAML config file used instead of a preset")
    t.add_argument("--budget", default="quick", help=f"one of {', '.join(BUDGETS.names())}")
    t.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override, e.g. model.skip=false")
    t.add_argument("--out", required=True, help="run folder: config.json, train_log.csv, checkpoint.pt, samples.png")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    t.set_defaults(func=cmd_train)

    s = sub.add_parser("sample", help="draw samples from a trained run into an .npz (images uint8, labels)")
    s.add_argument("run_dir")
    s.add_argument("--sampler", default="ddim")
    s.add_argument("--steps", type=int, default=50)
    s.add_argument("--guidance", type=float, default=3.0)
    s.add_argument("--guidance-interval", nargs=2, type=float, metavar=("LO", "HI"), default=list(FULL_INTERVAL),
                   help="guide only where t/T lies in [LO, HI]; the other steps run the conditional pass alone "
                        "(default 0 1: every step)")
    s.add_argument("--eta", type=float, default=0.0)
    s.add_argument("--spacing", default="uniform")
    s.add_argument("--per-class", type=int, default=100)
    s.add_argument("--batch-size", type=int, default=256)
    s.add_argument("--precision", default="fp32", help="fp32 | bf16 (autocast; needs native bf16: AVX512-BF16, AMX or CUDA)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--device", default="auto", help="auto | cpu | cuda")
    s.add_argument("--raw-weights", action="store_true", help="sample with the raw weights, not the EMA")
    s.add_argument("--out", required=True, help="FILE.npz")
    s.set_defaults(func=cmd_sample)

    ev = sub.add_parser("evaluate", help="metrics of a trained run (generated or given samples) into DIR/metrics.json")
    ev.add_argument("run_dir")
    ev.add_argument("--samples", help="an .npz from `harness sample` (default: generate eval.samples_per_class per digit)")
    ev.add_argument("--metrics", default="fid,kid,prc,class_acc,speed,mse", help="comma-separated: fid,kid,prc,class_acc,clip,speed,mse")
    ev.add_argument("--per-class", type=int, default=None, help="generated samples per digit (default: the budget's)")
    ev.add_argument("--seed", type=int, default=0)
    ev.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="sample.* or eval.* override, e.g. eval.clip_weights=PATH or sample.guidance=5")
    ev.set_defaults(func=cmd_evaluate)

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

    sp = sub.add_parser("speed", help="time training steps; GFLOP/s against this machine's matmul peak in the step's precision")
    sp.add_argument("--preset", default="baseline")
    sp.add_argument("--budget", default="quick")
    sp.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    sp.add_argument("--steps", type=int, default=10, help="timed steps (after 3 warm-up steps)")
    sp.add_argument("--device", default="auto")
    sp.add_argument("--results", default="results", help="results root: the figures go to <results>/perf/speed.json")
    sp.set_defaults(func=cmd_speed)

    df = sub.add_parser("difficulty", help="per-digit difficulty, recognisability along sampling, guidance frontier")
    _difficulty_options(df)
    df.set_defaults(func=cmd_difficulty)

    rp2 = sub.add_parser("reproduce", help="run every claim's experiment; write results/reproduce/claims.md and .csv")
    rp2.add_argument("--budget", default="quick", help=f"one of {', '.join(BUDGETS.names())} (default quick)")
    rp2.add_argument("--results", default="results", help="results root folder")
    rp2.add_argument("--only", type=_comma_list(str), default=(),
                     help="claims whose id or experiment starts with these, e.g. 002,difficulty")
    rp2.add_argument("--quiet", action="store_true", help="no progress lines")
    rp2.set_defaults(func=cmd_reproduce)

    pe = sub.add_parser("peers", help="the harness against diffusers' UNet2DModel + schedulers; results/perf/peers.md")
    _add_peers_arguments(pe)
    pe.add_argument("--eager-only", action="store_true",
                    help="leave out the torch.compile sampling rows (saves compiling both networks: 1-2 min on a CPU)")
    pe.set_defaults(func=cmd_peers)

    pq = sub.add_parser("peers-quality", help="the harness's and the diffusers peer's judged quality over training "
                                              "seeds, paired; results/perf/peers_quality.md")
    _add_peers_arguments(pq)
    pq.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2],
                    help="training seeds, one peer trained per seed; seeds an earlier run recorded are read back "
                         "(default: 0 1 2)")
    pq.add_argument("--per-class", type=int, default=50, help="digits of each class judged per seed (default 50)")
    pq.set_defaults(func=cmd_peers_quality)

    rl = sub.add_parser("reliability", help="try every bad input and kill drills; write results/reliability.md")
    rl.add_argument("--kills", type=int, default=4, help="random kills per drill (default 4)")
    rl.add_argument("--seed", type=int, default=0, help="seeds the kill moments and signals")
    rl.add_argument("--storage", help="run the study drill on this database URL (default: SQLite)")
    rl.add_argument("--out", default="results/reliability.md")
    rl.set_defaults(func=cmd_reliability)

    bc = sub.add_parser("bench-compare", help="a pytest-benchmark JSON against the committed baseline, in calibration units")
    bc.add_argument("current", help="the JSON `make bench` wrote (results/perf/bench.json)")
    bc.add_argument("--baseline", default=str(BASELINES),
                    help="a baseline file, or a folder of them, one per class of machine: the run's class picks "
                         "(default: %(default)s)")
    _add_verdict_arguments(bc)
    bc.set_defaults(func=cmd_bench_compare, command_name="make bench")

    ba = sub.add_parser("bench-against", help="the benchmark suite of a base revision and of this checkout, in turns "
                                              "on this machine, compared in calibration units (make bench-check BASE=REV)")
    ba.add_argument("rev", help="the base revision: a branch, tag or commit of this checkout (e.g. origin/main)")
    ba.add_argument("--runs", type=int, default=BENCH_RUNS, help="runs of the suite per revision, medians compared "
                                                                 "(default %(default)s)")
    ba.add_argument("--device", default="cpu", choices=("cpu", "cuda"), help="where the suite's network work runs")
    ba.add_argument("-k", help="only the benchmarks this pytest -k expression picks (e.g. 'train_step or calibration')")
    ba.add_argument("--results", default="results", help="results root: the runs land in its perf/against/")
    _add_verdict_arguments(ba)
    ba.set_defaults(func=cmd_bench_against, command_name="harness bench-against")

    bb = sub.add_parser("bench-baseline", help="store a benchmark run as the committed baseline of its class of machine")
    bb.add_argument("run", help="the run to keep (make bench-baseline: the median of three, results/perf/bench.json)")
    bb.add_argument("--into", default=str(BASELINES), help="the baselines folder (default: %(default)s)")
    bb.set_defaults(func=cmd_bench_baseline)

    bm = sub.add_parser("bench-median", help="several runs of the benchmark suite as one: each benchmark's median run")
    bm.add_argument("runs", nargs="+", help="pytest-benchmark JSON files of the same suite")
    bm.add_argument("--out", required=True, help="where to write the combined JSON (e.g. results/perf/bench.json)")
    bm.set_defaults(func=cmd_bench_median)

    pr = sub.add_parser("perf-report", help="gather bench, speed, peers, peers-quality and the sampler and guidance-interval studies into results/perf/report.md")
    pr.add_argument("--results", default="results", help="results root (its perf/ holds bench.json, speed.json, peers.json)")
    pr.add_argument("--baseline", default=str(BASELINES),
                    help="the benchmark baseline to compare with, or a folder of them per class of machine "
                         "(default: %(default)s)")
    pr.add_argument("--sampler-study", help="the sampler study's folder (default: <results>/sampler)")
    pr.add_argument("--interval-study", help="the guidance-interval study's folder (default: <results>/guidance_interval)")
    pr.set_defaults(func=cmd_perf_report)

    cl = sub.add_parser("classifier", help="show the reference MNIST classifier (shipped, else cached, else trained now)")
    cl.add_argument("--ship", action="store_true",
                    help="train it anew into harness/metrics/weights/ (after a change to its recipe; commit that folder)")
    cl.set_defaults(func=cmd_classifier)
    sub.add_parser("components", help="list every registry and its members").set_defaults(func=cmd_components)
    sub.add_parser("presets", help="list the presets and budgets").set_defaults(func=cmd_presets)
    return p


def _study_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--budget", help="override the spec's budget: smoke | quick | full")
    p.add_argument("--storage", help="SQLAlchemy URL, e.g. postgresql://user@host/db (default: sqlite file "
                                     "results/<study>/study.db)")
    p.add_argument("--workers", type=int, default=1, help="local worker processes sharing the study (default 1)")
    p.add_argument("--grace", type=float, default=GRACE_S,
                   help=f"seconds without a heartbeat after which another host's running trial is retried (default {GRACE_S:g})")
    p.add_argument("--results", default="results", help="results root folder")
    p.add_argument("--quiet", action="store_true", help="no progress bars or lines")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    keep_freed_memory()  # every command runs networks on CPU tensors: see allocator.py
    try:
        return args.func(args)
    except Interrupted as e:
        print(f"harness: {e}", file=sys.stderr)
        return INTERRUPTED
    except HarnessError as e:
        print(f"harness: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("harness: interrupted; finished work is kept: run the same command again to go on from it", file=sys.stderr)
        return INTERRUPTED
    except OSError as e:  # a full disk, a folder without permission: the file system's own words, in one line
        print(f"harness: error: {e.filename or ''}{': ' if e.filename else ''}{e.strerror or e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
