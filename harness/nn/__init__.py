"""The networks: layers, the backbones (U-Net, DiT) and the exponential moving average of weights."""

from ._backbones import BACKBONES, count_parameters, forward_gflop
from ._dit import POSITION_EMBEDDINGS, DiT, patchify, unpatchify
from ._ema import EMA, warm_up, warmed_up_at
from ._layers import ACTIVATIONS, MODULATIONS, TIME_EMBEDDINGS, PointwiseConv, Upsample
from ._posthoc_ema import MAX_SIGMA_REL, PowerEMA, coefficients, combine, gamma_of, profile, sigma_rel_of
from ._unet import UNet

__all__ = ["ACTIVATIONS", "BACKBONES", "coefficients", "combine", "DiT", "EMA", "gamma_of", "MAX_SIGMA_REL", "MODULATIONS",
           "PowerEMA", "profile", "sigma_rel_of", "POSITION_EMBEDDINGS", "TIME_EMBEDDINGS", "count_parameters",
           "forward_gflop", "patchify", "PointwiseConv", "UNet", "unpatchify", "Upsample", "warm_up", "warmed_up_at"]
