"""Denoising MSE on the validation split, overall and per timestep bucket."""

from __future__ import annotations

import torch
from torch import nn

from ..core import Diffusion
from ..data import Split, to_model_range

MSE_SEED = 31_337  # fixed t and noise: every model is measured on the same draws


@torch.inference_mode()
def denoising_mse(model: nn.Module, diffusion: Diffusion, split: Split, pad_to_32: bool, images: int = 1000,
                  buckets: int = 10, batch: int = 500) -> dict[str, object]:
    """Mean loss (the model's own parametrisation, unweighted) with times uniform within each of `buckets` equal
    bands of the noise range (vp: of [0, T)).

    Every bucket sees the same `images` validation digits with fresh noise; overall is the bucket mean.
    """
    device = next(model.parameters()).device
    g = torch.Generator().manual_seed(MSE_SEED)
    x0_all = to_model_range(split.images[:images], pad_to_32)
    y_all = split.labels[:images]
    per_bucket = []
    model.eval()
    for lo, hi in diffusion.buckets(buckets):
        t_all = diffusion.draw_between(lo, hi, len(y_all), g)
        eps_all = torch.randn(x0_all.shape, generator=g)
        total = 0.0
        for sl in torch.arange(len(y_all)).split(batch):
            x0, y, t, eps = (v[sl].to(device) for v in (x0_all, y_all, t_all, eps_all))
            total += float(diffusion.network_loss(model, x0, t, eps, y).sum())
        per_bucket.append({"t_from": lo, "t_to": hi, "mse": total / len(y_all)})
    return {"mse": sum(b["mse"] for b in per_bucket) / len(per_bucket), "mse_buckets": per_bucket,
            "mse_images": len(y_all)}
