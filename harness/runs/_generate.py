"""Class-conditional generation: classifier-free guidance around a trained network, then a sampler."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from .._util import ConfigError, NumericalError, autocast, bf16_sampling, compiled, eval_batch
from ..config import FULL_INTERVAL, SampleConfig
from ..core import NULL_LABEL, NUM_CLASSES, SAMPLERS, Denoiser, Diffusion, Network, Trajectory, evaluated_times
from ._guide import AutoGuided


def guided_output(network: Network, x: Tensor, t: Tensor, labels: Tensor, guidance: float) -> Tensor:
    """Ho & Salimans 2022 (classifier-free guidance): out_u + w (out_c - out_u).

    w = 0 runs the unconditional pass only, w = 1 the conditional only; otherwise both passes are
    batched into one network call.
    """
    if guidance == 1.0:
        return network(x, t, labels)
    null = torch.full_like(labels, NULL_LABEL)
    if guidance == 0.0:
        return network(x, t, null)
    cond, uncond = network(torch.cat([x, x]), torch.cat([t, t]), torch.cat([labels, null])).chunk(2)
    return uncond + guidance * (cond - uncond)


def split_calls(network: Network, size: int | None) -> Network:
    """`network` run in calls of at most `size` images (None: one call). Each image's output is its own, so
    the result equals one call's; smaller calls can be faster (see devices.CPU_EVAL_BATCH)."""
    if size is None:
        return network

    def call(x: Tensor, t: Tensor, labels: Tensor) -> Tensor:
        if len(x) <= size:
            return network(x, t, labels)
        return torch.cat([network(*part) for part in zip(x.split(size), t.split(size), labels.split(size))])

    return call


def guided_network(model: Network, labels: Tensor, guidance: float, conditional: bool = True, amp: bool = False,
                   max_batch: int | None = None) -> Callable[[Tensor, Tensor], Tensor]:
    """(x, t) -> `model`'s guided output for `labels` (`guided_output`; one plain pass when not `conditional`),
    in calls of at most `max_batch` images (None: no limit), under bf16 autocast when `amp`: each call's output
    goes back to x's dtype, so guidance combines in fp32."""
    call = split_calls(lambda a, b, c: model(a, b, c).to(a.dtype), max_batch)

    def network(x: Tensor, t: Tensor) -> Tensor:
        with autocast(x.device, torch.bfloat16 if amp else None):
            return guided_output(call, x, t, labels, guidance) if conditional else call(x, t, labels)

    return network


def guided_denoiser(model: nn.Module, diffusion: Diffusion, labels: Tensor, guidance: float,
                    clip_x0: bool = True, amp: bool = False, max_batch: int | None = None,
                    interval: tuple[float, ...] = FULL_INTERVAL) -> Denoiser:
    """The guided network (`guided_network`) as a sampler's denoiser: the formulation turns x_t into the network's
    input and its output into (x0, eps); x0 is clipped to [-1, 1] (pixel range) and eps recomputed from it. A
    network without a class embedding runs its one pass. The network sees at most `max_batch` images per call
    (None: no limit). Guidance applies at the levels whose noise fraction lies in `interval`
    (`Diffusion.guided_at`); the others run the conditional pass alone."""
    conditional = is_conditional(model)
    guided = guided_network(model, labels, guidance, conditional, amp, max_batch)
    plain = guided_network(model, labels, 1.0, conditional, amp, max_batch) if interval != FULL_INTERVAL else guided

    def denoise(x: Tensor, t: Tensor) -> tuple[Tensor, Tensor]:
        network = guided if plain is guided or diffusion.guided_at(t[0].item(), interval) else plain
        x0, eps = diffusion.to_x0_eps(network(*diffusion.network_input(x, t)), x, t)
        if clip_x0:
            a, s = diffusion.coefficients(t, x)
            x0 = x0.clamp(-1.0, 1.0)
            eps = (x - a * x0) / s
        return x0, eps

    return denoise


def is_conditional(model: nn.Module) -> bool:
    """Whether `model` takes a class label (has a class embedding): only then can guidance run two passes."""
    return getattr(model, "class_embed", None) is not None


def network_passes(cfg: SampleConfig, diffusion: Diffusion, conditional: bool = True) -> int:
    """Images the network evaluates per sample: one per evaluation, two at the guided ones (cond and uncond)."""
    evaluated = evaluated_times(cfg.sampler, diffusion.levels(cfg.spacing, cfg.steps))
    if not conditional or cfg.guidance in (0.0, 1.0):
        return len(evaluated)
    return len(evaluated) + sum(diffusion.guided_at(t, cfg.guidance_interval) for t in evaluated)


@torch.inference_mode()
def generate(model: nn.Module, diffusion: Diffusion, cfg: SampleConfig, labels: Tensor, image_size: int,
             generator: torch.Generator, trajectory: Trajectory | None = None) -> Tensor:
    """Samples (N, 1, H, W) in [-1, 1] for `labels` (N,), drawn in batches of cfg.batch_size (the network
    sees at most cfg.eval_batch images per call, as `devices.eval_batch` resolves it, in cfg.precision).

    The starting noise of every batch comes from `generator` in order, so a seed fixes the result.
    """
    device = next(model.parameters()).device
    amp = bf16_sampling(cfg.precision, device)  # refuses bf16 where it is emulated, before any work
    if cfg.guidance_method == "autoguidance" and not isinstance(model, AutoGuided):
        raise ConfigError("sample.guidance_method=autoguidance needs the network wrapped with its guide "
                          "(runs.with_guide); this one has none")
    model.eval()
    network = compiled(model) if cfg.compile else model
    sampler = SAMPLERS.get(cfg.sampler)
    levels = diffusion.levels(cfg.spacing, cfg.steps)
    max_batch = eval_batch(cfg.eval_batch, device)
    # under autoguidance the network is runs.AutoGuided, which applies w itself: classifier-free guidance stays off,
    # and its one pass sees the digit's label, or the null label when the unconditional model is guided
    guidance = cfg.guidance if cfg.guidance_method != "autoguidance" else 0.0 if cfg.unconditional else 1.0
    out = []
    for batch in labels.split(cfg.batch_size):
        batch = batch.to(device)
        x = torch.randn((len(batch), 1, image_size, image_size), generator=generator, device=device)
        if levels.scale[0] != 1.0:  # x_T ~ N(0, a^2 + s^2): unit variance in the variance-preserving view
            x = levels.scale[0] * x
        denoise = guided_denoiser(network, diffusion, batch, guidance, amp=amp, max_batch=max_batch,
                                  interval=cfg.guidance_interval)
        images = sampler(denoise, x, levels, generator, cfg.eta, trajectory)  # (B, 1, H, W)
        _check_finite(images, cfg)
        out.append(images.clamp(-1, 1))
    return torch.cat(out)


def _check_finite(images: Tensor, cfg: SampleConfig) -> None:
    """Clamping and uint8 conversion would turn NaN into plausible black digits: refuse them instead."""
    bad = int((~torch.isfinite(images)).flatten(1).any(1).sum())
    if bad:
        raise NumericalError(f"sampling produced NaN/inf in {bad} of {len(images)} images ({cfg.sampler}, {cfg.steps} "
                             f"steps, guidance {cfg.guidance:g}); the network's outputs are not finite: check that "
                             f"its training did not diverge, or lower sample.guidance")


def to_uint8(images: Tensor) -> Tensor:
    """(N, 1, H, W) in [-1, 1] -> (N, 28, 28) uint8, cropping the 32x32 padding when present."""
    if images.shape[-1] == 32:
        images = images[..., 2:30, 2:30]
    return ((images[:, 0].float() + 1.0) * 127.5).round().clamp(0, 255).to(torch.uint8)


def grid_labels(per_class: int) -> Tensor:
    """0,0,...,1,1,...,9: `per_class` of each digit, grouped so a grid has one row per digit."""
    return torch.arange(NUM_CLASSES).repeat_interleave(per_class)
