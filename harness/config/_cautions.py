"""Settings that are allowed but likely to mislead: printed as warnings and kept beside the results."""

from __future__ import annotations

from ..core import Diffusion
from ._schema import RunConfig

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
    return found
