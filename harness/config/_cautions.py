"""Settings that are allowed but likely to mislead: printed as warnings and kept beside the results."""

from __future__ import annotations

from ..core import Diffusion
from ..nn import warm_up, warmed_up_at
from ._schema import RunConfig, TrainConfig

EXTREME_GUIDANCE = 10.0  # w above this is far past the 0-7 range where guidance trades diversity for fidelity
TERMINAL_SIGNAL = 0.1  # sqrt(alpha_bar_T) above this: the last noise level still shows the digit


def cautions(cfg: RunConfig) -> list[str]:
    """One sentence per questionable setting of `cfg`; empty when nothing is questionable."""
    found = []
    w = cfg.sample.guidance
    if w > EXTREME_GUIDANCE and cfg.model.class_embedding:
        found.append(f"sample.guidance={w:g} is extreme (> {EXTREME_GUIDANCE:g}): expect saturated, near-identical "
                     f"digits with little diversity")
    signal = Diffusion(cfg.diffusion).terminal_signal
    if signal > TERMINAL_SIGNAL and cfg.diffusion.formulation == "vp":  # edm and flow start at their noisiest level
        found.append(f"the {cfg.diffusion.schedule} schedule at T={cfg.diffusion.timesteps} leaves "
                     f"sqrt(alpha_bar_T)={signal:.3f} of the image at the last step; sampling starts from pure noise, "
                     f"which the network never saw (linear_scaled or cosine end near 0)")
    if cfg.train.ema_decay != TrainConfig.ema_decay and (unreached := ema_decay_unreached(cfg.train)):
        found.append(unreached)  # the default's own shortfall is the field's documented behaviour, not a choice
    return found


def ema_decay_unreached(train: TrainConfig) -> str | None:
    """Why `train.ema_decay` changes nothing in this run, or None when it does: the EMA's warm-up ceiling
    (1 + k) / (10 + k) stays below the decay through the last step, so every such decay gives the same average."""
    first = warmed_up_at(train.ema_decay)
    if not train.ema or first < train.steps:
        return None
    return (f"train.ema_decay={train.ema_decay:g} never takes effect in {train.steps} steps: the EMA's warm-up "
            f"min(decay, (1+k)/(10+k)) reaches it only at step {first}, so every decay above "
            f"{warm_up(train.steps - 1):.4f} averages the same weights; train more steps or choose a decay at most that")
