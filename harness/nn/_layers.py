"""Building blocks of the U-Net: embeddings, residual blocks, self-attention, resampling."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .._util import Registry

ACTIVATIONS: Registry[Callable[[], nn.Module]] = Registry("activation", "the U-Net's nonlinearity")
ACTIVATIONS.register("silu")(nn.SiLU)
ACTIVATIONS.register("gelu")(nn.GELU)
ACTIVATIONS.register("relu")(nn.ReLU)

# Every member: (timesteps, dim) -> a module mapping t (B,) long to an embedding (B, dim).
TIME_EMBEDDINGS: Registry[Callable[[int, int], nn.Module]] = Registry("time_embedding", "how the timestep t is embedded")


@TIME_EMBEDDINGS.register("sinusoidal")
class SinusoidalTimeEmbedding(nn.Module):
    """Vaswani et al. 2017 position encoding of t, as in Ho et al. 2020 (max period 10,000)."""

    def __init__(self, timesteps: int, dim: int) -> None:
        super().__init__()
        half = dim // 2
        freqs = torch.exp(-math.log(10_000.0) * torch.arange(half, dtype=torch.float32) / half)
        self.register_buffer("freqs", freqs, persistent=False)  # (dim/2,)

    def forward(self, t: Tensor) -> Tensor:
        angles = t.float()[:, None] * self.freqs[None, :]  # (B, dim/2)
        return torch.cat([angles.sin(), angles.cos()], dim=1)  # (B, dim)


@TIME_EMBEDDINGS.register("learned")
class LearnedTimeEmbedding(nn.Module):
    """A free vector per timestep (a lookup table of T rows)."""

    def __init__(self, timesteps: int, dim: int) -> None:
        super().__init__()
        self.table = nn.Embedding(timesteps, dim)

    def forward(self, t: Tensor) -> Tensor:
        return self.table(t)  # (B, dim)


@TIME_EMBEDDINGS.register("none")
class NoTimeEmbedding(nn.Module):
    """The ablation: the network is not told t (it sees zeros)."""

    def __init__(self, timesteps: int, dim: int) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, t: Tensor) -> Tensor:
        return torch.zeros(t.shape[0], self.dim, device=t.device)  # (B, dim)


class PointwiseConv(nn.Conv2d):
    """A 1x1 convolution computed as a batched matmul over the H*W positions of NCHW input.

    The same function, parameters and checkpoint keys as nn.Conv2d(in_ch, out_ch, 1). On CPU oneDNN's
    backward pass for a 1x1 convolution on NCHW input is several times slower than the same work as a matmul
    (docs/measured.md). Input in another layout (channels-last, as on CUDA) keeps the convolution, whose
    kernels there read it directly.
    """

    def __init__(
        self,
        in_ch: int,  # input channels
        out_ch: int,  # output channels
    ) -> None:
        super().__init__(in_ch, out_ch, 1)

    def forward(self, x: Tensor) -> Tensor:
        if not x.is_contiguous():
            return super().forward(x)
        b, c, h, w = x.shape
        weight = self.weight.view(1, self.out_channels, c).expand(b, -1, -1)  # (B, out, in), no copy
        out = torch.baddbmm(self.bias.view(1, -1, 1), weight, x.view(b, c, h * w))  # (B, out, H*W)
        return out.view(b, self.out_channels, h, w)


@dataclass(frozen=True)
class Modulation:
    """How a residual block's conditioning vector acts on its features between the two convolutions."""

    vectors: int  # per-channel vectors the embedding's projection gives: its output width over the channels
    apply: Callable[[Tensor, Tensor, nn.GroupNorm], Tensor]  # (h (B, C, H, W), e (B, vectors*C, 1, 1), norm) -> normed h


MODULATIONS: Registry[Modulation] = Registry("modulation", "how the embedding enters each residual block")


def _add(h: Tensor, e: Tensor, norm: nn.GroupNorm) -> Tensor:
    return norm(h + e)


def _scale_shift(h: Tensor, e: Tensor, norm: nn.GroupNorm) -> Tensor:
    scale, shift = e.chunk(2, dim=1)  # each (B, C, 1, 1)
    return norm(h) * (1 + scale) + shift  # 1 + scale: a zero projection leaves the block unconditioned


# Ho et al. 2020: a per-channel bias, added before the second GroupNorm (which then partly normalises it away).
MODULATIONS.register("add")(Modulation(1, _add))
# Dhariwal & Nichol 2021, section 3 ("adaptive group normalization", AdaGN): the embedding sets the second
# GroupNorm's per-channel scale and shift, so it multiplies features instead of offsetting them.
MODULATIONS.register("scale_shift")(Modulation(2, _scale_shift))


class ResBlock(nn.Module):
    """Two 3x3 convolutions with GroupNorm, an optional embedding between them, and a residual path."""

    def __init__(
        self,
        in_ch: int,  # input channels
        out_ch: int,  # output channels
        emb_dim: int | None,  # width of the conditioning vector that enters after the first conv; None: none
        groups: int,  # GroupNorm groups
        dropout: float,  # dropout probability before the second conv
        act: Callable[[], nn.Module],  # nonlinearity constructor
        modulation: Modulation,  # how the embedding acts on the features (a MODULATIONS member)
    ) -> None:
        super().__init__()
        self.norm1, self.conv1 = nn.GroupNorm(groups, in_ch), nn.Conv2d(in_ch, out_ch, 3, padding=1)
        self.norm2, self.conv2 = nn.GroupNorm(groups, out_ch), nn.Conv2d(out_ch, out_ch, 3, padding=1)
        self.act, self.drop = act(), nn.Dropout(dropout)
        self.modulation = modulation
        self.emb = nn.Linear(emb_dim, modulation.vectors * out_ch) if emb_dim else None
        self.shortcut = PointwiseConv(in_ch, out_ch) if in_ch != out_ch else nn.Identity()

    def forward(self, x: Tensor, emb: Tensor | None) -> Tensor:
        h = self.conv1(self.act(self.norm1(x)))  # (B, out, H, W)
        if self.emb is not None and emb is not None:
            h = self.modulation.apply(h, self.emb(emb)[:, :, None, None], self.norm2)
        else:
            h = self.norm2(h)
        h = self.conv2(self.drop(self.act(h)))
        return h + self.shortcut(x)


class SelfAttention2d(nn.Module):
    """Multi-head self-attention over the H*W positions of a feature map, with a residual path."""

    def __init__(
        self,
        channels: int,  # feature channels (split evenly across heads)
        heads: int,  # attention heads
        groups: int,  # GroupNorm groups
    ) -> None:
        super().__init__()
        if channels % heads:
            raise ValueError(f"attention needs channels ({channels}) divisible by heads ({heads})")
        self.heads = heads
        self.norm = nn.GroupNorm(groups, channels)
        self.qkv = PointwiseConv(channels, 3 * channels)
        self.proj = PointwiseConv(channels, channels)

    def forward(self, x: Tensor) -> Tensor:
        b, c, h, w = x.shape
        qkv = self.qkv(self.norm(x)).reshape(b, 3, self.heads, c // self.heads, h * w)
        q, k, v = qkv.transpose(-1, -2).unbind(1)  # each (B, heads, HW, C/heads)
        out = F.scaled_dot_product_attention(q, k, v)  # (B, heads, HW, C/heads)
        return x + self.proj(out.transpose(-1, -2).reshape(b, c, h, w))


class Downsample(nn.Module):
    """Halve the resolution with a stride-2 3x3 convolution."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, stride=2, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(x)


class Upsample(nn.Module):
    """Double the resolution: nearest-neighbour upsampling, then a 3x3 convolution to `out_ch`.

    Computed as one stride-2 4x4 transposed convolution, the same function (Shi et al. 2016, "Is the
    deconvolution layer the same as a convolutional layer?"): output row 2i sees input rows i-1, i with
    taps w0, w1+w2 and row 2i+1 sees rows i, i+1 with taps w0+w1, w2, likewise for columns. Half the
    multiply-adds of the 3x3 conv at the doubled side, and no 4x-sized intermediate; parameters and
    checkpoints are those of the plain conv.
    """

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_ch, out_ch, 3, padding=1)
        # (4 transposed taps k, 3 conv taps): transposed tap k feeds output 2i - 1 + k from input i
        taps = torch.tensor([[0.0, 0.0, 1.0], [0.0, 1.0, 1.0], [1.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
        self.register_buffer("taps", taps, persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        kernel = torch.einsum("kp,oipq,lq->iokl", self.taps, self.conv.weight, self.taps)  # (in, out, 4, 4)
        return F.conv_transpose2d(x, kernel, self.conv.bias, stride=2, padding=1)  # (B, out, 2H, 2W)
