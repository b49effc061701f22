"""A class-conditional Diffusion Transformer (Peebles & Xie 2023, "Scalable Diffusion Models with Transformers").

The paper's best block, adaLN-Zero: every block's LayerNorms are modulated by a shift and scale regressed from the
(time + class) conditioning vector, and each residual branch is multiplied by a regressed gate that starts at zero,
so a freshly built block is the identity. Unlike the paper's latent-space model, it works on pixels (one channel)
and predicts only the formulation's target (no learned variance).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .._util import ConfigError, Registry
from ..core import NUM_CLASSES
from ._layers import TIME_EMBEDDINGS

if TYPE_CHECKING:  # annotations only: the config validates names against this package's registries
    from ..config import ModelConfig


def patchify(x: Tensor, patch: int) -> Tensor:
    """(B, C, H, W) -> (B, H/p * W/p, p*p*C): row-major patches, each flattened (row, column, channel)."""
    b, c, h, w = x.shape
    x = x.reshape(b, c, h // patch, patch, w // patch, patch)  # (B, C, H/p, p, W/p, p)
    return x.permute(0, 2, 4, 3, 5, 1).reshape(b, (h // patch) * (w // patch), patch * patch * c)


def unpatchify(tokens: Tensor, patch: int, side: int, channels: int) -> Tensor:
    """The inverse of patchify for a square image of `side` pixels: (B, N, p*p*C) -> (B, C, side, side)."""
    b, n = tokens.shape[:2]
    g = side // patch
    x = tokens.reshape(b, g, g, patch, patch, channels)  # (B, H/p, W/p, p, p, C)
    return x.permute(0, 5, 1, 3, 2, 4).reshape(b, channels, side, side)


# Every member: (grid side, width) -> a module whose forward() returns the (1, N, width) position embedding.
POSITION_EMBEDDINGS: Registry[Callable[[int, int], nn.Module]] = Registry("position_embedding", "how the DiT tells a token where its patch lies")


@POSITION_EMBEDDINGS.register("sinusoidal")
class SinCos2dPositionEmbedding(nn.Module):
    """Fixed 2-D sin-cos embedding (Vaswani et al. 2017 per axis; MAE and DiT): half the width encodes the patch's
    row, half its column."""

    def __init__(self, grid: int, width: int) -> None:
        super().__init__()
        if width % 4:
            raise ConfigError(f"model.width={width}: the 2-D sin-cos position embedding needs a multiple of 4")
        quarter = width // 4
        freqs = 1.0 / 10_000.0 ** (torch.arange(quarter, dtype=torch.float64) / quarter)  # (W/4,)
        rows, cols = torch.meshgrid(torch.arange(grid, dtype=torch.float64), torch.arange(grid, dtype=torch.float64),
                                    indexing="ij")

        def axis(pos: Tensor) -> Tensor:
            angles = pos.reshape(-1, 1) * freqs[None, :]  # (N, W/4)
            return torch.cat([angles.sin(), angles.cos()], dim=1)  # (N, W/2)

        table = torch.cat([axis(rows), axis(cols)], dim=1).float()[None]  # (1, N, W)
        self.register_buffer("table", table, persistent=False)

    def forward(self) -> Tensor:
        return self.table


@POSITION_EMBEDDINGS.register("learned")
class LearnedPositionEmbedding(nn.Module):
    """A free vector per patch position (ViT, Dosovitskiy et al. 2021), initialised small."""

    def __init__(self, grid: int, width: int) -> None:
        super().__init__()
        self.table = nn.Parameter(torch.randn(1, grid * grid, width) * 0.02)

    def forward(self) -> Tensor:
        return self.table


def modulate(x: Tensor, shift: Tensor, scale: Tensor) -> Tensor:
    """adaLN: (B, N, D) tokens, (B, D) shift and scale -> x * (1 + scale) + shift per sample."""
    return x * (1 + scale[:, None, :]) + shift[:, None, :]


class Attention(nn.Module):
    """Multi-head self-attention over the tokens."""

    def __init__(
        self,
        width: int,  # token width (split evenly across heads)
        heads: int,  # attention heads
    ) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)

    def forward(self, x: Tensor) -> Tensor:
        b, n, d = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)  # each (B, h, N, D/h)
        out = F.scaled_dot_product_attention(q, k, v)  # (B, h, N, D/h)
        return self.proj(out.transpose(1, 2).reshape(b, n, d))


class DiTBlock(nn.Module):
    """Peebles & Xie 2023, Figure 3 (adaLN-Zero): x + gate1 * attention(adaLN(x)); then + gate2 * MLP(adaLN(x))."""

    def __init__(
        self,
        width: int,  # token width
        heads: int,  # attention heads
        mlp_ratio: float,  # hidden width of the MLP over the token width (the paper: 4)
        emb_dim: int,  # width of the conditioning vector
    ) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(width, elementwise_affine=False, eps=1e-6)  # the modulation is its affine part
        self.attn = Attention(width, heads)
        self.norm2 = nn.LayerNorm(width, elementwise_affine=False, eps=1e-6)
        hidden = int(width * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(width, hidden), nn.GELU(approximate="tanh"), nn.Linear(hidden, width))
        self.modulation = nn.Linear(emb_dim, 6 * width)  # shift, scale, gate for each of the two branches
        nn.init.zeros_(self.modulation.weight)  # "-Zero": every gate starts at 0, the block at the identity
        nn.init.zeros_(self.modulation.bias)

    def forward(self, x: Tensor, c: Tensor) -> Tensor:
        shift1, scale1, gate1, shift2, scale2, gate2 = self.modulation(c).chunk(6, dim=1)  # each (B, D)
        x = x + gate1[:, None, :] * self.attn(modulate(self.norm1(x), shift1, scale1))
        return x + gate2[:, None, :] * self.mlp(modulate(self.norm2(x), shift2, scale2))


class FinalLayer(nn.Module):
    """adaLN (shift and scale, no gate), then a linear map of each token to its patch's pixels; zero-initialised,
    so the network starts as the zero predictor, as the U-Net does."""

    def __init__(self, width: int, emb_dim: int, patch_pixels: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(width, elementwise_affine=False, eps=1e-6)
        self.modulation = nn.Linear(emb_dim, 2 * width)
        self.linear = nn.Linear(width, patch_pixels)
        for layer in (self.modulation, self.linear):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, x: Tensor, c: Tensor) -> Tensor:
        shift, scale = self.modulation(c).chunk(2, dim=1)
        return self.linear(modulate(self.norm(x), shift, scale))  # (B, N, p*p*C)


class DiT(nn.Module):
    """Patchify, add positions, `depth` adaLN-Zero blocks conditioned on time + class, unpatchify.

    forward(x (B, 1, H, W), t (B,), y (B,) long in [0, 10]) -> (B, 1, H, W); y = 10 is the null class of
    classifier-free guidance. The conditioning vector is the U-Net's: time MLP plus class embedding.
    """

    def __init__(self, cfg: ModelConfig, image_size: int, timesteps: int) -> None:
        super().__init__()
        p, width = cfg.patch_size, cfg.width
        self.patch, self.side = p, image_size
        d = cfg.embed_dim
        self.time_embed = TIME_EMBEDDINGS.get(cfg.time_embedding)(timesteps, d)
        self.time_mlp = nn.Sequential(nn.Linear(d, d), nn.SiLU(), nn.Linear(d, d))
        self.class_embed = nn.Embedding(NUM_CLASSES + 1, d) if cfg.class_embedding else None
        self.embed_patches = nn.Linear(p * p, width)  # the paper's stride-p convolution, as a matmul on patches
        self.position = POSITION_EMBEDDINGS.get(cfg.position_embedding)(image_size // p, width)
        self.blocks = nn.ModuleList([DiTBlock(width, cfg.attention_heads, cfg.mlp_ratio, d) for _ in range(cfg.depth)])
        self.final = FinalLayer(width, d, p * p)
        self._init_weights()

    def _init_weights(self) -> None:
        """The DiT reference's initialisation: Xavier-uniform linears, N(0, 0.02) embeddings, zeros where adaLN-Zero
        and the output layer ask for them (set by those modules, kept here)."""
        zeroed = {id(m) for b in self.blocks for m in (b.modulation,)} | {id(self.final.modulation), id(self.final.linear)}
        for m in self.modules():
            if isinstance(m, nn.Linear) and id(m) not in zeroed:
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)
        for m in (self.time_mlp[0], self.time_mlp[2]):
            nn.init.normal_(m.weight, std=0.02)
        if self.class_embed is not None:
            nn.init.normal_(self.class_embed.weight, std=0.02)

    def embed(self, t: Tensor, y: Tensor) -> Tensor:
        """The conditioning vector (B, embed_dim), passed through SiLU as the adaLN regressors expect."""
        emb = self.time_mlp(self.time_embed(t))
        if self.class_embed is not None:
            emb = emb + self.class_embed(y)
        return F.silu(emb)

    def forward(self, x: Tensor, t: Tensor, y: Tensor) -> Tensor:
        c = self.embed(t, y)  # (B, E)
        h = self.embed_patches(patchify(x, self.patch)) + self.position()  # (B, N, D)
        for block in self.blocks:
            h = block(h, c)
        return unpatchify(self.final(h, c), self.patch, self.side, x.shape[1])  # (B, 1, H, W)
