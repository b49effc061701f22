"""Post-hoc EMA (Karras et al. 2024, "Analyzing and Improving the Training Dynamics of Diffusion Models", Sec. 3).

Training tracks a few power-function EMAs of the weights and saves snapshots of them; after training, the EMA of
any relative length sigma_rel is reconstructed as the linear combination of the snapshots whose averaging profile
comes closest, in least squares, to the wanted one. The EMA length so becomes a sampling-only factor.

Time here is the optimiser step t = 1, 2, ...: theta_t is the weights after step t. A power-function EMA with
exponent gamma averages theta_1..theta_t with weights proportional to tau^gamma (their Eq. 2); its update is
ema_t = beta_t ema_{t-1} + (1 - beta_t) theta_t with beta_t = (1 - 1/t)^(gamma + 1) (their Eq. 4), which gives
theta_tau the exact weight ((tau / t)^(gamma+1) - ((tau - 1) / t)^(gamma+1)) in ema_t (`profile`).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor, nn

MAX_SIGMA_REL = 0.28  # sigma_rel of gamma = 0 (a plain running mean) is 1 / (2 sqrt 3) = 0.2887; longer has no gamma >= 0


def gamma_of(sigma_rel: float) -> float:
    """The exponent gamma >= 0 of the power-function EMA of relative standard deviation `sigma_rel`.

    Karras et al. 2024, Eq. 3: sigma_rel = sqrt(gamma + 1) / ((gamma + 2) sqrt(gamma + 3)), so gamma is the largest
    real root of the cubic sigma_rel^2 (gamma + 2)^2 (gamma + 3) - (gamma + 1) = 0.
    """
    if not 0.0 < sigma_rel < MAX_SIGMA_REL:
        raise ValueError(f"sigma_rel must lie in (0, {MAX_SIGMA_REL}), got {sigma_rel}")
    s2 = sigma_rel * sigma_rel
    roots = np.roots([s2, 7.0 * s2, 16.0 * s2 - 1.0, 12.0 * s2 - 1.0])
    return float(max(r.real for r in roots if abs(r.imag) < 1e-9))


def sigma_rel_of(gamma: float) -> float:
    """Karras et al. 2024, Eq. 3: the relative standard deviation of the power-function EMA of exponent gamma."""
    return float(np.sqrt(gamma + 1.0) / ((gamma + 2.0) * np.sqrt(gamma + 3.0)))


def profile(gamma: float, t: int, horizon: int) -> np.ndarray:
    """(horizon,) float64: the weight of theta_tau, tau = 1..horizon, in the power-function EMA at step t (0 after t)."""
    tau = np.arange(1, horizon + 1, dtype=np.float64)
    w = (np.minimum(tau, t) / t) ** (gamma + 1.0) - ((np.minimum(tau, t) - 1.0) / t) ** (gamma + 1.0)
    return np.where(tau <= t, w, 0.0)


def coefficients(snapshots: Sequence[tuple[float, int]], gamma: float, t: int) -> np.ndarray:
    """Least-squares weights x (one per snapshot) with sum_i x_i profile_i closest to the wanted profile.

    `snapshots` lists each snapshot's (gamma, step); the wanted EMA has exponent `gamma` at step `t`. Karras et al.
    2024 solve the same least squares over continuous profiles; on the discrete steps the profiles here are exact,
    so a wanted profile that is a snapshot's own is reproduced exactly.
    """
    horizon = max([t, *(step for _, step in snapshots)])
    basis = np.stack([profile(g, step, horizon) for g, step in snapshots], axis=1)  # (horizon, snapshots)
    x, *_ = np.linalg.lstsq(basis, profile(gamma, t, horizon), rcond=None)
    return x


def combine(states: Sequence[dict[str, Tensor]], weights: np.ndarray) -> dict[str, Tensor]:
    """sum_i weights_i states_i, tensor by tensor, in float64 then back to each tensor's dtype."""
    out = {}
    for key, first in states[0].items():
        total = sum(float(w) * s[key].double() for w, s in zip(weights, states))
        out[key] = total.to(first.dtype)
    return out


class PowerEMA:
    """The power-function EMAs of one training run, one copy of the network per tracked sigma_rel."""

    def __init__(self, model: nn.Module, sigma_rels: Sequence[float]) -> None:
        self.sigma_rels = tuple(sigma_rels)  # the tracked lengths, e.g. (0.05, 0.10), Karras et al. 2024's pair
        self.gammas = [gamma_of(s) for s in self.sigma_rels]
        self.models = [copy.deepcopy(model).eval().requires_grad_(False) for _ in self.sigma_rels]

    @torch.no_grad()
    def update(self, model: nn.Module, step: int) -> None:
        """After optimiser step `step` (0-based): ema <- beta ema + (1 - beta) weights, beta = (1 - 1/t)^(gamma+1)."""
        t = step + 1
        live = [p.detach() for p in model.parameters()]
        for gamma, shadow in zip(self.gammas, self.models):
            beta = (1.0 - 1.0 / t) ** (gamma + 1.0)
            torch._foreach_lerp_(list(shadow.parameters()), live, 1.0 - beta)

    def state_dict(self) -> dict:
        return {"sigma_rels": list(self.sigma_rels), "profiles": [m.state_dict() for m in self.models]}

    def load_state_dict(self, state: dict) -> None:
        for shadow, weights in zip(self.models, state["profiles"]):
            shadow.load_state_dict(weights)
