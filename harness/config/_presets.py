"""Presets (named partial configs) and budgets (how much compute a run gets), and their resolution.

A run's config is: defaults <- preset <- budget <- the user's dotted overrides (later wins).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .._util import ConfigError, Registry
from ._schema import RunConfig, apply_overrides, config_from_dict, config_to_dict, deep_merge, parse_override

PRESETS: Registry[dict[str, Any]] = Registry("preset", "named configurations (partial; defaults fill the rest)")

# The fourth baseline, kept so results made with it reproduce; the fifth (`baseline`) is built on it. Flow matching
# on the linear path (Lipman et al. 2023; Liu et al. 2023) with uniform times, on the lean 3-level U-Net of the
# defaults. Small batches learn more per training image, and the linear scaling rule (Goyal et al. 2017) takes the
# second baseline's lr 4e-3 at batch 128 to 1e-3 at the budgets' batch of 32; a warm-up of 80 steps keeps the first
# steps stable. DPM-Solver++ 2M (Lu et al. 2022) with 10 steps samples it as well as Heun with 25.
BASELINE_V4 = {
    "diffusion": {"formulation": "flow"},
    "train": {"lr": 1e-3, "warmup_steps": 80},
    "sample": {"sampler": "dpmpp_2m", "steps": 10},
}
# The third baseline, kept so results made with it reproduce: the fourth with logit-normal times (Esser et al. 2024).
BASELINE_V3 = deep_merge(BASELINE_V4, {"train": {"noise_sampling": "logit_normal"}})
# The default recipe, chosen for time to a good model on a CPU: the third baseline whose blocks take the embedding
# as GroupNorm's scale and shift (AdaGN, Dhariwal & Nichol 2021), so the digit multiplies features and recognised
# digits need less guidance, which keeps their variety; with it logit-normal times pay off, as without it they did
# not (the fourth baseline). Chosen by the modulation study on the validation digits (docs/measured.md).
BASELINE = deep_merge(BASELINE_V3, {"model": {"modulation": "scale_shift"}})
PRESETS.register("baseline")(BASELINE)
PRESETS.register("baseline_v4")(BASELINE_V4)
PRESETS.register("baseline_v3")(BASELINE_V3)
# The second baseline, kept so results made with it reproduce: v prediction (Salimans & Ho 2022) on the cosine
# schedule (Nichol & Dhariwal 2021) at twice the defaults' learning rate.
BASELINE_V2 = {"diffusion": {"prediction": "v", "schedule": "cosine"}, "train": {"lr": 4e-3}}
PRESETS.register("baseline_v2")(BASELINE_V2)
# The first baseline, kept so results made with it reproduce: the defaults (eps on the linear schedule, lr 2e-3).
PRESETS.register("baseline_v1")({})

# Reports 000 and 001 describe a conditional U-Net with time and class embeddings (001: the class embedding
# added at several stages) and give no widths, schedule or T: the baseline is that system, measured.
PRESETS.register("report000")({})
PRESETS.register("report001")({"model": {"conditioning": "every_block"}})

# Report 002: linear betas 1e-4..0.02 at T=100; 4 down / 4 up blocks with GELU, GroupNorm and residuals;
# sinusoidal time MLP and class MLP of 128 dims added only at the bottleneck; CFG with p_uncond=0.1,
# w=3; Adam 5e-4 with weight decay 1e-5; batch 128. No EMA is mentioned. 4 downsamplings need 32x32.
PRESETS.register("report002")({
    "data": {"pad_to_32": True},
    "model": {"channels": [32, 64, 128, 256, 256], "activation": "gelu", "conditioning": "bottleneck",
              "embed_dim": 128, "norm_groups": 8},
    "diffusion": {"schedule": "linear", "timesteps": 100},
    "train": {"lr": 5e-4, "weight_decay": 1e-5, "lr_decay": "constant", "ema": False, "p_uncond": 0.1},
    "sample": {"guidance": 3.0},
})

# Report 003: sinusoidal time, one-hot class, EMA weights, lr 2e-4 -> 1e-4; T=500 gave its sharp
# digits (T=100 blobs, 300 faint). Widths are not given; the baseline's are used.
PRESETS.register("report003")({
    "diffusion": {"schedule": "linear", "timesteps": 500},
    "train": {"lr": 2e-4, "lr_decay": "cosine", "ema": True},
})

# Report 004: a 3-level U-Net with channels (32, 64, 128) at 32x32, T=100, GELU, GroupNorm, class
# embedding. Its 957,513 parameters belong to a different block design (docs/studies.md).
PRESETS.register("report004")({
    "data": {"pad_to_32": True},
    "model": {"channels": [32, 64, 128], "activation": "gelu", "norm_groups": 8},
    "diffusion": {"schedule": "linear", "timesteps": 100},
})

# Karras et al. 2022 on the baseline network: their preconditioning, loss weighting lambda(sigma) and lognormal
# sigma (Table 1), sampled with their Heun solver on their rho = 7 spacing, 18 levels (35 evaluations, their
# CIFAR-10 setting).
PRESETS.register("edm")({
    "diffusion": {"formulation": "edm"},
    "train": {"loss_weighting": "edm", "noise_sampling": "lognormal"},
    "sample": {"sampler": "heun", "spacing": "karras", "steps": 18},
})

# Flow matching on the linear path (Lipman et al. 2023; Liu et al. 2023) on the baseline network: velocity MSE
# at t uniform in [0, 1], sampled with Heun's method over uniform steps in t, 25 levels (49 evaluations).
PRESETS.register("flow")({
    "diffusion": {"formulation": "flow"},
    "sample": {"sampler": "heun", "steps": 25},
})
# A Diffusion Transformer (Peebles & Xie 2023) in place of the baseline's U-Net, at the same forward FLOPs per
# image (`harness presets` prints both): 4x4 patches (a 7x7 grid of tokens on 28x28), width 128, 4 adaLN-Zero
# blocks of 4 heads; the second baseline's formulation, schedule and training (vp, cosine, v prediction).
PRESETS.register("dit_small")({
    **BASELINE_V2, "model": {"backbone": "dit", "patch_size": 4, "width": 128, "depth": 4, "attention_heads": 4},
})


@dataclass(frozen=True)
class Budget:
    """How much compute a run gets; scales steps, batch, width and sample counts."""

    name: str
    description: str
    steps: int  # optimiser steps
    batch_size: int  # images per step
    width_scale: float  # multiplies model.channels and model.embed_dim (rounded to GroupNorm multiples)
    val_every: int  # steps between validation measurements
    val_images: int  # validation images per measurement
    checkpoint_every: int  # steps between checkpoints
    sample_steps: int | None  # sampler steps; None keeps the preset's
    grid_per_class: int  # digits per class in samples.png
    samples_per_class: int  # generated digits per class for the metrics
    mse_images: int = 1000  # validation digits per timestep bucket for the mse metric

    def overrides(self, base: dict[str, Any], kept: frozenset[str] = frozenset()) -> dict[str, Any]:
        """The config sections this budget sets, given the merged defaults+preset dict; it scales the widths
        it finds and sets every count except the `kept` keys (section.field) that a study spec fixes."""
        model = base["model"]
        groups = model["norm_groups"]
        out: dict[str, Any] = {
            "budget": self.name,
            "train": {"steps": self.steps, "batch_size": self.batch_size, "val_every": self.val_every,
                      "val_images": self.val_images, "checkpoint_every": self.checkpoint_every},
            "sample": {"grid_per_class": self.grid_per_class},
            "eval": {"samples_per_class": self.samples_per_class, "mse_images": self.mse_images},
        }
        if self.width_scale != 1.0:
            out["model"] = {"channels": [_scaled(c, self.width_scale, groups) for c in model["channels"]],
                            "embed_dim": _scaled(model["embed_dim"], self.width_scale, 2)}
            if model["backbone"] == "dit":  # a U-Net's config keeps its (unused) width, and so its hash
                out["model"]["width"] = _scaled(model["width"], self.width_scale, math.lcm(4, model["attention_heads"]))
        if self.sample_steps is not None:
            out["sample"]["steps"] = min(self.sample_steps, base["diffusion"]["timesteps"])
        for key in kept:
            section, _, field = key.partition(".")
            if section != "model":  # widths are scaled, not set: the spec's own widths are what is scaled
                out.get(section, {}).pop(field, None)
        return out


def _scaled(value: int, scale: float, multiple: int) -> int:
    return max(multiple, int(round(value * scale / multiple)) * multiple)


BUDGETS: Registry[Budget] = Registry("budget", "compute budgets: smoke | quick | full")
for _b in (
    Budget("smoke", "seconds per run: proves the pipeline runs (tests and CI only)",
           steps=20, batch_size=32, width_scale=0.25, val_every=10, val_images=100, checkpoint_every=10,
           sample_steps=5, grid_per_class=2, samples_per_class=5, mse_images=100),
    Budget("quick", "under a minute per run on a 2-core CPU; the baseline's digits recognised (docs/measured.md)",
           steps=600, batch_size=32, width_scale=1.0, val_every=100, val_images=500, checkpoint_every=100,
           sample_steps=None, grid_per_class=10, samples_per_class=100),
    Budget("full", "the reports' scale (about 50 epochs, 10k samples for FID); meant for a GPU",
           steps=20_000, batch_size=128, width_scale=1.0, val_every=1000, val_images=10_000, checkpoint_every=1000,
           sample_steps=None, grid_per_class=10, samples_per_class=1000),
):
    BUDGETS.register(_b.name)(_b)


def resolve_config(preset: str = "baseline", budget: str = "quick", overrides: list[str] | None = None,
                   base: dict[str, Any] | None = None, before_budget: list[str] | None = None) -> RunConfig:
    """defaults <- preset (or `base`, a config dict from a file) <- `before_budget` <- budget <- `overrides`.

    A study spec's base.set goes before the budget, so that --budget smoke scales the spec's own widths;
    the steps and counts base.set fixes hold at every budget (the budget sets only those it leaves open).
    Its grid values go after.
    """
    if base is not None and not isinstance(base, dict):
        raise ConfigError(f"a config file must hold a mapping of sections, got {type(base).__name__}")
    merged = deep_merge(_defaults(), base if base is not None else PRESETS.get(preset))
    merged = apply_overrides(merged, before_budget or [])  # also a private copy
    merged["preset"] = preset if base is None else str(merged.get("preset", "file"))
    kept = frozenset(".".join(parse_override(o)[0]) for o in before_budget or [])  # the keys base.set fixes
    merged = deep_merge(merged, BUDGETS.get(budget).overrides(_validated(merged), kept))
    return config_from_dict(apply_overrides(merged, overrides or []))


def _defaults() -> dict[str, Any]:
    return config_to_dict(RunConfig())


def _validated(merged: dict[str, Any]) -> dict[str, Any]:
    """The merged dict after a validation pass, so a budget never scales an invalid preset."""
    return config_to_dict(config_from_dict(merged))
