"""One network: `harness train`, `sample`, `evaluate`; what there is to build one from: `components`, `presets`,
`classifier`."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING

from .._util import ConfigError, resolve_device
from ..config import (
    BUDGETS,
    DATASETS,
    FULL_INTERVAL,
    PRESETS,
    DataConfig,
    RunConfig,
    configuration_reference,
    load_yaml,
    resolve_config,
    with_overrides,
)
from ..core import FORMULATIONS, LOSS_WEIGHTINGS, NOISE_SAMPLINGS, PREDICTIONS, SAMPLERS, SCHEDULES, SPACINGS
from ..data import VALUE_RANGES, value_range
from ..nn import (
    ACTIVATIONS,
    BACKBONES,
    MAX_SIGMA_REL,
    MODULATIONS,
    POSITION_EMBEDDINGS,
    TIME_EMBEDDINGS,
    count_parameters,
    forward_gflop,
)
from ._common import print_warnings, result_dataset, warn_cautions

if TYPE_CHECKING:  # the metrics load torch-fidelity: only the commands that measure import them
    from ..metrics import Column


def cmd_train(args: argparse.Namespace) -> int:
    base = load_yaml(args.config) if args.config else None
    cfg = resolve_config(args.preset, args.budget, args.set, base=base)
    from ..runs import train

    warn_cautions(cfg)
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


# `harness sample` options, each named after the sample.* field it overrides when given (the run's stands otherwise)
SAMPLE_OPTIONS = ("sampler", "steps", "guidance", "guidance_interval", "eta", "spacing", "batch_size", "precision",
                  "guidance_method", "guide_at", "guide_run", "unconditional", "guide_unconditional")


def cmd_sample(args: argparse.Namespace) -> int:
    import torch  # torch loads inside main(), so Ctrl-C while it loads is still caught there

    from ..runs import generate, grid_labels, load_trained, save_samples, to_uint8, with_guide

    if args.per_class < 1:
        raise ConfigError(f"--per-class must be at least 1 (samples of each digit), got {args.per_class}")
    if args.ema_length is not None and not 0.0 < args.ema_length < MAX_SIGMA_REL:
        raise ConfigError(f"--ema-length must be a sigma_rel in (0, {MAX_SIGMA_REL}), e.g. 0.1; got {args.ema_length}")
    device = resolve_device(args.device)
    trained = load_trained(Path(args.run_dir), use_ema=not args.raw_weights, device=device,
                           ema_length=args.ema_length or 0.0)
    given = {key: getattr(args, key) for key in SAMPLE_OPTIONS if getattr(args, key) is not None}
    cfg = with_overrides(trained.cfg, [f"sample.{key}={json.dumps(value)}" for key, value in given.items()], ("sample",))
    warn_cautions(cfg)
    trained = with_guide(trained, Path(args.run_dir), cfg.sample, device)
    labels = grid_labels(args.per_class)
    g = torch.Generator(device=device).manual_seed(args.seed)
    t0 = time.perf_counter()
    images = to_uint8(generate(trained.model, trained.diffusion, cfg.sample, labels, cfg.data.image_size, g)).cpu().numpy()
    seconds = time.perf_counter() - t0
    out = Path(args.out)
    save_samples(out, torch.from_numpy(images), labels)
    lo, hi = cfg.sample.guidance_interval
    where = "" if (lo, hi) == FULL_INTERVAL else f" at t/T in [{lo:g}, {hi:g}]"
    if cfg.sample.guidance_method == "autoguidance":
        where += ", autoguidance" + (" of the unconditional model" if cfg.sample.unconditional else
                                     " by the guide's unconditional pass" if cfg.sample.guide_unconditional else "")
    print(f"{len(images)} samples ({cfg.sample.sampler}, {cfg.sample.steps} steps, w={cfg.sample.guidance}{where}) "
          f"in {seconds:.1f} s ({len(images) / seconds:.1f} images/s) -> {out}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from ..metrics import columns, default_metrics, evaluate, parse_metrics

    metrics = parse_metrics(args.metrics or default_metrics())
    result = evaluate(Path(args.run_dir), metrics, Path(args.samples) if args.samples else None, args.per_class,
                      args.seed, args.set, samples_range=value_range(args.range))
    print_warnings(result.get("cautions", []))
    print(format_metrics(result, columns()))
    print(f"-> {Path(args.run_dir) / 'metrics.json'}")
    return 0


def format_metrics(result: dict, registered: list[Column]) -> str:
    """A plain-text table of the `registered` metric columns: overall figures, then one row per digit."""
    lines = []
    if "samples" in result:
        lines.append(f"samples: {result['samples']['count']} ({result['samples']['source']})")
    overall = [c for c in registered if c.overall and c.key in result]
    lines.append("  ".join(f"{c.key}={result[c.key]:.4g}" for c in overall))
    shown = [c for c in registered if c.per_digit and any(c.key in v for v in result["per_digit"].values())]
    if shown:
        rows = sorted(result["per_digit"].items(), key=lambda item: int(item[0]))
        about = result_dataset(result)
        width = max(5, *(len(about.label(int(d))) for d, _ in rows))
        align = ">" if about.numbered else "<"  # digits right-aligned as numbers, class names as text
        lines.append(f"{about.noun:<{width}s} " + "".join(f"{c.key:>16s}" for c in shown))
        for d, values in rows:
            lines.append(f"{about.label(int(d)):{align}{width}s} "
                         + "".join(f"{values.get(c.key, float('nan')):16.4g}" for c in shown))
    if "speed" in result:
        lines.append("speed: " + ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in result["speed"].items()))
    clip = result.get("clip", {})
    if clip.get("available"):
        lines.append(f"clip ({clip['model']}): score={clip['clip_score']:.4g} zero-shot acc={clip['clip_zero_shot_acc']:.4g} "
                     f"preference '{clip['clip_preference_pair'][0]}' over '{clip['clip_preference_pair'][1]}'={clip['clip_preference']:.4g}")
    elif clip:
        lines.append(f"clip: unavailable ({clip['reason']})")
    return "\n".join(lines)


def cmd_classifier(args: argparse.Namespace) -> int:
    from ..data import load_mnist
    from ..metrics import SHIPPED_DIR, load_or_train, ship

    data_cfg = with_overrides(RunConfig(), args.set, sections=("data",)).data
    if args.ship and data_cfg != DataConfig():
        raise ConfigError("only the classifier of the bundled MNIST is shipped; drop --set data.* with --ship")
    data = load_mnist(data_cfg)
    test = f"the {len(data.test):,} {DATASETS.get(data_cfg.dataset).title} test images"
    if args.ship:
        loaded = ship(data, progress=True)
        print(f"shipped: {loaded.path} ({loaded.test_accuracy:.2%} on {test}); commit {SHIPPED_DIR}")
        return 0
    loaded = load_or_train(data, progress=True)
    state = {"shipped": "shipped with the harness", "cache": "from the cache", "trained": "trained now"}[loaded.origin]
    print(f"reference classifier ({state}): {loaded.test_accuracy:.2%} on {test}; {loaded.path}")
    return 0


def cmd_components(args: argparse.Namespace) -> int:
    from ..metrics import METRICS

    for reg in (FORMULATIONS, SCHEDULES, PREDICTIONS, LOSS_WEIGHTINGS, NOISE_SAMPLINGS, SAMPLERS, SPACINGS,
                BACKBONES, TIME_EMBEDDINGS, MODULATIONS, POSITION_EMBEDDINGS, ACTIVATIONS, PRESETS, BUDGETS, METRICS):
        print(f"{reg.family:18s} {', '.join(reg.names()):45s} {reg.doc}")
    for name, form in FORMULATIONS.items():
        print(f"  formulation {name:4s} {form.summary}; samplers {', '.join(form.samplers)}; spacings "
              f"{', '.join(form.spacings)}; noise sampling {', '.join(form.noise_samplings)}")
    for name, m in METRICS.items():
        figures = ", ".join(c.key + ("" if c.better == 0 else " (higher is better)" if c.better > 0 else
                                       " (lower is better)") for c in m.columns) or f"the {name} section"
        print(f"  metric {name:9s} needs {m.needs:8s} {m.doc} -> {figures}")
    return 0


def cmd_config_reference(args: argparse.Namespace) -> int:
    print(configuration_reference(), end="")
    return 0


def cmd_presets(args: argparse.Namespace) -> int:
    from ..runs import build_model

    for name in PRESETS.names():
        cfg = resolve_config(name, "quick")
        m, d = cfg.model, cfg.diffusion
        model = build_model(cfg)
        process = (f"vp T={d.timesteps} {d.schedule} {d.prediction}" if d.formulation == "vp" else
                   f"{d.formulation} {cfg.train.noise_sampling} {cfg.train.loss_weighting}")
        network = (f"unet channels={list(m.channels)} conditioning={m.conditioning}" if m.backbone == "unet" else
                   f"dit patch={m.patch_size} width={m.width} depth={m.depth} heads={m.attention_heads}")
        print(f"{name:11s} {network} {cfg.data.image_size}x{cfg.data.image_size} {process} "
              f"{cfg.sample.sampler} x{cfg.sample.steps} ema={cfg.train.ema} params={count_parameters(model):,} "
              f"GFLOP/image={forward_gflop(model, cfg.data.image_size):.3f}")
    for b in BUDGETS.names():
        budget = BUDGETS.get(b)
        print(f"budget {b:6s} {budget.steps} steps x batch {budget.batch_size}: {budget.description}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add train, sample and evaluate to the subcommands."""
    t = sub.add_parser("train", help="train a preset into a run folder (resumes if the folder holds one)")
    t.add_argument("--preset", default="baseline", help=f"one of {', '.join(PRESETS.names())}")
    t.add_argument("--config", help="a YAML config file used instead of a preset")
    t.add_argument("--budget", default="quick", help=f"one of {', '.join(BUDGETS.names())}")
    t.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override, e.g. model.skip=false")
    t.add_argument("--out", required=True, help="run folder: config.json, train_log.csv, checkpoint.pt, samples.png")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    t.set_defaults(func=cmd_train)

    s = sub.add_parser("sample", help="draw samples from a trained run into an .npz (images uint8, labels); "
                       "the run's own sample.* settings apply where no option is given")
    s.add_argument("run_dir")
    s.add_argument("--sampler", help="sample.sampler (`harness components` lists them)")
    s.add_argument("--steps", type=int, help="sample.steps: network evaluations of the sampler")
    s.add_argument("--guidance", type=float, help="sample.guidance: w (0 unconditional, 1 conditional)")
    s.add_argument("--guidance-method", help="sample.guidance_method: cfg | autoguidance (a weaker network guides)")
    s.add_argument("--guide-at", type=float, help="sample.guide_at: autoguidance by this run's weights at this "
                   "fraction of its training (kept by train.keep_weights_at)")
    s.add_argument("--guide-run", help="sample.guide_run: autoguidance by another run folder's network")
    s.add_argument("--unconditional", action="store_true", default=None, help="sample.unconditional: autoguidance "
                   "of the unconditional model (both networks see the null label; under cfg use --guidance 0)")
    s.add_argument("--guide-unconditional", action="store_true", default=None, help="sample.guide_unconditional: "
                   "the autoguidance guide sees the null label (CFG whose unconditional pass is the weaker network)")
    s.add_argument("--guidance-interval", nargs=2, type=float, metavar=("LO", "HI"),
                   help="sample.guidance_interval: guide only where t/T lies in [LO, HI]; the other steps run the "
                        "conditional pass alone")
    s.add_argument("--eta", type=float, help="sample.eta: DDIM's stochasticity")
    s.add_argument("--spacing", help="sample.spacing")
    s.add_argument("--per-class", type=int, default=100, help="samples of each digit (default 100)")
    s.add_argument("--batch-size", type=int, help="sample.batch_size: images per sampling batch")
    s.add_argument("--precision", help="sample.precision: fp32 | bf16 (autocast; needs native bf16: AVX512-BF16, AMX or CUDA)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--device", default="auto", help="auto | cpu | cuda")
    s.add_argument("--raw-weights", action="store_true", help="sample with the raw weights, not the EMA")
    s.add_argument("--ema-length", type=float, help="post-hoc EMA: sample with the EMA of this sigma_rel, reconstructed "
                   "from the run's snapshots (a run trained with train.ema_profiles)")
    s.add_argument("--out", required=True, help="FILE.npz")
    s.set_defaults(func=cmd_sample)

    ev = sub.add_parser("evaluate", help="metrics of a trained run (generated or given samples) into DIR/metrics.json")
    ev.add_argument("run_dir")
    ev.add_argument("--samples", help="an .npz from `harness sample`, a .pt or a folder of PNGs as `harness score` reads "
                    "them (default: generate eval.samples_per_class per digit)")
    ev.add_argument("--range", help=f"value range of float sample images: {' | '.join('--range=' + r for r in VALUE_RANGES)}")
    ev.add_argument("--metrics", help="comma-separated metric names (`harness components` lists the metric "
                    "registry); default: every metric but clip, which needs local weights")
    ev.add_argument("--per-class", type=int, default=None, help="generated samples per digit (default: the budget's)")
    ev.add_argument("--seed", type=int, default=0)
    ev.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="sample.* or eval.* override, e.g. eval.clip_weights=PATH or sample.guidance=5")
    ev.set_defaults(func=cmd_evaluate)


def register_listings(sub: argparse._SubParsersAction) -> None:
    """Add classifier, components and presets to the subcommands."""
    cl = sub.add_parser("classifier", help="show the reference classifier of a data set (MNIST's shipped, else cached, "
                                           "else trained now)")
    cl.add_argument("--ship", action="store_true",
                    help="train it anew into harness/metrics/weights/ (after a change to its recipe; commit that folder)")
    cl.add_argument("--set", action="append", default=[], metavar="data.KEY=VALUE",
                    help="the data set, e.g. --set data.dataset=fashion_mnist --set data.path=DIR (default: bundled MNIST)")
    cl.set_defaults(func=cmd_classifier)
    sub.add_parser("components", help="list every registry and its members").set_defaults(func=cmd_components)
    sub.add_parser("presets", help="list the presets and budgets").set_defaults(func=cmd_presets)
    sub.add_parser("config-reference", help="print the configuration reference (every field, its default and meaning) "
                   "as markdown: make docs writes it to docs/configuration.md").set_defaults(func=cmd_config_reference)
