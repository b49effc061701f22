"""The training objective around a formulation: which noise levels training draws and how it weights them.

A loss weighting is a weight w(SNR) on the denoised error ||x0_hat - x0||^2 (Kingma & Gao 2023, 'Understanding
Diffusion Objectives'); the network's own loss already carries the formulation's native weight, so each image's
loss is multiplied by w / native. `uniform` multiplies by nothing: plain MSE on what the network outputs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from .._util import Registry
from ._process import Diffusion, Network

if TYPE_CHECKING:
    from ..config import TrainConfig

Weighting = Callable[[Tensor, "TrainConfig", Diffusion], "Tensor | None"]  # (SNR (B,), train, diffusion) -> w (B,)
NoiseSampling = Callable[[Diffusion, int, torch.Generator, "TrainConfig"], Tensor]  # -> times (n,)

LOSS_WEIGHTINGS: Registry[Weighting] = Registry(
    "loss_weighting", "the weight of each noise level's denoised error in the training loss")
NOISE_SAMPLINGS: Registry[NoiseSampling] = Registry(
    "noise_sampling", "the distribution of the noise levels (t or sigma) that training draws")


@LOSS_WEIGHTINGS.register("uniform")
def uniform_weighting(snr: Tensor, tc: TrainConfig, diffusion: Diffusion) -> Tensor | None:
    """Plain MSE on the network's output: the formulation's native weighting (Ho et al. 2020's L_simple for eps)."""
    return None


@LOSS_WEIGHTINGS.register("min_snr")
def min_snr_weighting(snr: Tensor, tc: TrainConfig, diffusion: Diffusion) -> Tensor | None:
    """Hang et al. 2023, 'Efficient Diffusion Training via Min-SNR Weighting Strategy', eq. 11: w = min(SNR, gamma)
    on the x0 error; for eps that is min(SNR, gamma) / SNR, for v min(SNR, gamma) / (SNR + 1) (their sec. 3.4)."""
    return snr.clamp(max=tc.min_snr_gamma)


@LOSS_WEIGHTINGS.register("edm")
def edm_weighting(snr: Tensor, tc: TrainConfig, diffusion: Diffusion) -> Tensor | None:
    """Karras et al. 2022, sec. 5: lambda(sigma) = (sigma^2 + sd^2) / (sigma sd)^2 = SNR + 1 / sd^2 with
    sigma = s / a, so that the preconditioned network's loss has unit weight at every sigma."""
    return snr + 1 / diffusion.cfg.sigma_data**2


@NOISE_SAMPLINGS.register("uniform")
def uniform_sampling(diffusion: Diffusion, n: int, generator: torch.Generator, tc: TrainConfig) -> Tensor:
    """Uniform over the formulation's own time: vp's steps, flow's t, edm's ln sigma."""
    return diffusion.times(n, generator)


@NOISE_SAMPLINGS.register("lognormal")
def lognormal_sampling(diffusion: Diffusion, n: int, generator: torch.Generator, tc: TrainConfig) -> Tensor:
    """Karras et al. 2022, sec. 5 and Table 1: ln sigma ~ N(P_mean, P_std^2)."""
    return (tc.p_mean + tc.p_std * torch.randn(n, generator=generator, dtype=torch.float64)).exp()


@NOISE_SAMPLINGS.register("logit_normal")
def logit_normal_sampling(diffusion: Diffusion, n: int, generator: torch.Generator, tc: TrainConfig) -> Tensor:
    """Esser et al. 2024, 'Scaling Rectified Flow Transformers', sec. 3.1: t = sigmoid(u), u ~ N(m, s^2)."""
    return torch.sigmoid(tc.logit_mean + tc.logit_std * torch.randn(n, generator=generator, dtype=torch.float64))


class Objective:
    """The training loss of one run: `draw` the step's noise levels, then `loss` of the network on them."""

    def __init__(self, diffusion: Diffusion, tc: TrainConfig) -> None:
        self.diffusion, self.tc = diffusion, tc
        self._draw = NOISE_SAMPLINGS.get(tc.noise_sampling)
        self._weighting = LOSS_WEIGHTINGS.get(tc.loss_weighting)

    def draw(self, n: int, generator: torch.Generator) -> Tensor:
        """n training times from train.noise_sampling."""
        return self._draw(self.diffusion, n, generator, self.tc)

    def weights(self, t: Tensor) -> Tensor | None:
        """Each image's loss multiplier w(SNR) / native(SNR), float32 (B,); None for `uniform`."""
        snr = self.diffusion.snr(t)
        w = self._weighting(snr, self.tc, self.diffusion)
        return None if w is None else (w / self.diffusion.native_weight(snr)).float()

    def loss(self, model: Network, x0: Tensor, t: Tensor, eps: Tensor, y: Tensor,
             precision: torch.dtype | None = None) -> Tensor:
        """The training loss: `Diffusion.network_loss` per image (B,), weighted, averaged over the batch."""
        per_image = self.diffusion.network_loss(model, x0, t, eps, y, precision)
        w = self.weights(t)
        return per_image.mean() if w is None else (per_image * w.to(per_image.device)).mean()
