"""A class-conditional U-Net whose switches (skips, attention, embeddings, injection) are config fields."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import Tensor, nn

from ..core import NUM_CLASSES
from ._layers import ACTIVATIONS, MODULATIONS, TIME_EMBEDDINGS, Downsample, ResBlock, SelfAttention2d, Upsample

if TYPE_CHECKING:  # annotations only: the config validates names against this package's registries
    from ..config import ModelConfig


class Stage(nn.Module):
    """One residual block, followed by self-attention when its resolution asks for it."""

    def __init__(self, block: ResBlock, attention: SelfAttention2d | None) -> None:
        super().__init__()
        self.block, self.attention = block, attention

    def forward(self, x: Tensor, emb: Tensor | None) -> Tensor:
        x = self.block(x, emb)
        return self.attention(x) if self.attention is not None else x


class UNet(nn.Module):
    """Ronneberger et al. 2015's U-Net as used by Ho et al. 2020, sized for 28x28 or 32x32 digits.

    Leaner than Ho et al.'s: one skip per encoder block, as many decoder blocks as encoder blocks,
    and the upsampling conv narrows the width; this roughly halves the FLOPs on a CPU budget.

    forward(x (B, 1, H, W), t (B,) long in [0, T), y (B,) long in [0, 10]) -> (B, 1, H, W).
    """

    def __init__(self, cfg: ModelConfig, image_size: int, timesteps: int) -> None:
        super().__init__()
        self.cfg = cfg
        act = ACTIVATIONS.get(cfg.activation)
        modulation = MODULATIONS.get(cfg.modulation)
        d = cfg.embed_dim
        self.time_embed = TIME_EMBEDDINGS.get(cfg.time_embedding)(timesteps, d)
        self.time_mlp = nn.Sequential(nn.Linear(d, d), act(), nn.Linear(d, d))
        self.class_embed = nn.Embedding(NUM_CLASSES + 1, d) if cfg.class_embedding else None
        self.emb_act = act()
        everywhere = d if cfg.conditioning == "every_block" else None

        def stage(cin: int, cout: int, side: int, emb_dim: int | None) -> Stage:
            attn = SelfAttention2d(cout, cfg.attention_heads, cfg.norm_groups) if side in cfg.attention_resolutions else None
            return Stage(ResBlock(cin, cout, emb_dim, cfg.norm_groups, cfg.dropout, act, modulation), attn)

        chs = cfg.channels
        side = image_size
        self.stem = nn.Conv2d(1, chs[0], 3, padding=1)
        self.down, self.downsample = nn.ModuleList(), nn.ModuleList()
        ch, skip_chs = chs[0], []
        for i, c in enumerate(chs):
            level = nn.ModuleList()
            for _ in range(cfg.blocks_per_level):
                level.append(stage(ch, c, side, everywhere))
                ch = c
                skip_chs.append(ch)
            self.down.append(level)
            self.downsample.append(Downsample(ch) if i < len(chs) - 1 else nn.Identity())
            side = side // 2 if i < len(chs) - 1 else side
        self.mid = nn.ModuleList([stage(ch, ch, side, d), stage(ch, ch, side, d)])  # conditioning always reaches here
        self.up, self.upsample = nn.ModuleList(), nn.ModuleList()
        for i in reversed(range(len(chs))):
            level = nn.ModuleList()
            for _ in range(cfg.blocks_per_level):
                extra = skip_chs.pop() if cfg.skip else 0
                level.append(stage(ch + extra, chs[i], side, everywhere))
                ch = chs[i]
            self.up.append(level)
            if i > 0:  # the upsampling conv also narrows to the next level's width: cheaper than after
                self.upsample.append(Upsample(ch, chs[i - 1]))
                ch, side = chs[i - 1], side * 2
            else:
                self.upsample.append(nn.Identity())
        self.out = nn.Sequential(nn.GroupNorm(cfg.norm_groups, ch), act(), nn.Conv2d(ch, 1, 3, padding=1))
        nn.init.zeros_(self.out[-1].weight)  # start as the zero predictor: a stable first step
        nn.init.zeros_(self.out[-1].bias)

    def embed(self, t: Tensor, y: Tensor) -> Tensor:
        """The conditioning vector (B, embed_dim): time MLP output plus the class embedding."""
        emb = self.time_mlp(self.time_embed(t))
        if self.class_embed is not None:
            emb = emb + self.class_embed(y)
        return self.emb_act(emb)

    def forward(self, x: Tensor, t: Tensor, y: Tensor) -> Tensor:
        emb = self.embed(t, y)  # (B, D)
        h = self.stem(x)  # (B, C0, H, W)
        skips = []
        for level, down in zip(self.down, self.downsample):
            for stage in level:
                h = stage(h, emb)
                skips.append(h)
            h = down(h)
        for stage in self.mid:
            h = stage(h, emb)
        for level, up in zip(self.up, self.upsample):
            for stage in level:
                h = stage(torch.cat([h, skips.pop()], dim=1) if self.cfg.skip else h, emb)
            h = up(h)
        return self.out(h)  # (B, 1, H, W)
