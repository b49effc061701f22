"""The networks: layers, the backbones (U-Net, DiT) and the exponential moving average of weights."""

from ._backbones import BACKBONES, count_parameters, forward_gflop
from ._dit import POSITION_EMBEDDINGS, DiT, patchify, unpatchify
from ._ema import EMA
from ._layers import ACTIVATIONS, TIME_EMBEDDINGS, PointwiseConv, Upsample
from ._unet import UNet

__all__ = ["ACTIVATIONS", "BACKBONES", "DiT", "EMA", "POSITION_EMBEDDINGS", "TIME_EMBEDDINGS", "count_parameters",
           "forward_gflop", "patchify", "PointwiseConv", "UNet", "unpatchify", "Upsample"]
