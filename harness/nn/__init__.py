"""The networks: layers, the U-Net and the exponential moving average of weights."""

from ._ema import EMA
from ._layers import ACTIVATIONS, TIME_EMBEDDINGS, PointwiseConv, Upsample
from ._unet import UNet, count_parameters

__all__ = ["ACTIVATIONS", "EMA", "TIME_EMBEDDINGS", "count_parameters", "PointwiseConv", "UNet", "Upsample"]
