"""One network: `harness train`, `sample`, `evaluate`; what there is to build one from: `components`, `presets`,
`classifier`."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from ..config import FULL_INTERVAL, load_yaml, with_overrides
from ..presets import BUDGETS, PRESETS, resolve_config
from ._common import print_warnings, warn_cautions


def cmd_train(args: argparse.Namespace) -> int:
    base = load_yaml(args.config) if args.config else None
    cfg = resolve_config(args.preset, args.budget, args.set, base=base)
    from ..train import train  # heavy imports only for the commands that need them

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


def cmd_sample(args: argparse.Namespace) -> int:
    import torch  # torch loads inside main(), so Ctrl-C while it loads is still caught there

    from ..checkpoint import load_trained
    from ..devices import resolve_device
    from ..generate import generate, grid_labels, to_uint8
    from ..samplefile import save_samples

    device = resolve_device(args.device)
    trained = load_trained(Path(args.run_dir), use_ema=not args.raw_weights, device=device)
    cfg = with_overrides(trained.cfg, [
        f"sample.sampler={args.sampler}", f"sample.steps={args.steps}", f"sample.guidance={args.guidance}",
        f"sample.eta={args.eta}", f"sample.spacing={args.spacing}", f"sample.batch_size={args.batch_size}",
        f"sample.precision={args.precision}", f"sample.guidance_interval={list(args.guidance_interval)}"], ("sample",))
    warn_cautions(cfg)
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


def cmd_evaluate(args: argparse.Namespace) -> int:
    from ..evaluate import evaluate, parse_metrics

    metrics = parse_metrics(args.metrics)
    result = evaluate(Path(args.run_dir), metrics, Path(args.samples) if args.samples else None, args.per_class,
                      args.seed, args.set)
    print_warnings(result.get("cautions", []))
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


def cmd_classifier(args: argparse.Namespace) -> int:
    from ..config import DataConfig
    from ..data import bundled_mnist_path, load_mnist
    from ..metrics.reference import SHIPPED_DIR, load_or_train, ship

    data = load_mnist(DataConfig())
    if args.ship:
        loaded = ship(data, bundled_mnist_path(), progress=True)
        print(f"shipped: {loaded.path} ({loaded.test_accuracy:.2%} on the 10,000 MNIST test digits); commit {SHIPPED_DIR}")
        return 0
    loaded = load_or_train(data, bundled_mnist_path(), progress=True)
    state = {"shipped": "shipped with the harness", "cache": "from the cache", "trained": "trained now"}[loaded.origin]
    print(f"reference classifier ({state}): {loaded.test_accuracy:.2%} on the 10,000 MNIST test digits; {loaded.path}")
    return 0


def cmd_components(args: argparse.Namespace) -> int:
    from ..diffusion import PREDICTIONS
    from ..layers import ACTIVATIONS, TIME_EMBEDDINGS
    from ..samplers import SAMPLERS, SPACINGS
    from ..schedules import SCHEDULES

    for reg in (SCHEDULES, PREDICTIONS, SAMPLERS, SPACINGS, TIME_EMBEDDINGS, ACTIVATIONS, PRESETS, BUDGETS):
        print(f"{reg.family:15s} {', '.join(reg.names()):45s} {reg.doc}")
    return 0


def cmd_presets(args: argparse.Namespace) -> int:
    from ..checkpoint import build_model
    from ..unet import count_parameters

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


def register_listings(sub: argparse._SubParsersAction) -> None:
    """Add classifier, components and presets to the subcommands."""
    cl = sub.add_parser("classifier", help="show the reference MNIST classifier (shipped, else cached, else trained now)")
    cl.add_argument("--ship", action="store_true",
                    help="train it anew into harness/metrics/weights/ (after a change to its recipe; commit that folder)")
    cl.set_defaults(func=cmd_classifier)
    sub.add_parser("components", help="list every registry and its members").set_defaults(func=cmd_components)
    sub.add_parser("presets", help="list the presets and budgets").set_defaults(func=cmd_presets)
