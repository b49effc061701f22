"""The peer: diffusers' UNet2DModel sized like the harness's U-Net, with diffusers' own DDPM/DDIM schedulers."""

from __future__ import annotations

from types import ModuleType
from typing import Any

from torch import Tensor, nn

from ..._util import ConfigError, MissingExtra
from ...config import RunConfig
from ...core import NULL_LABEL

# The harness's beta schedules and prediction targets that diffusers' DDPMScheduler has under another name.
# The recipe both sides train: diffusers' schedulers are discrete-time vp, so the peer mirrors the vp baseline
# (v prediction, cosine), not the flow-matching default.
PEER_PRESET = "baseline_v2"
BETA_SCHEDULES = {"linear": "linear", "cosine": "squaredcos_cap_v2"}
PREDICTION_TYPES = {"eps": "epsilon", "v": "v_prediction"}


def load_diffusers() -> ModuleType:
    """The diffusers package, or a message saying how to install it (it is an optional extra)."""
    try:
        import diffusers
    except ImportError:
        raise MissingExtra("the peer comparison needs diffusers, an optional extra: `make bench-peers` installs it, "
                           "or `pip install -e '.[peers]'` in this checkout") from None
    return diffusers


def peer_unet(cfg: RunConfig) -> nn.Module:
    """UNet2DModel with the config's widths, blocks per level, GroupNorm groups and embedding width.

    As in the harness's U-Net: one resolution level per entry of model.channels, `blocks_per_level` residual
    blocks down and one more up, no attention (diffusers' mid-block attention is switched off), and a class
    embedding of 10 digits plus the null label of classifier-free guidance added to the time embedding.
    """
    m = cfg.model
    if m.attention_resolutions or not m.class_embedding or not m.skip or m.conditioning != "every_block":
        raise ConfigError("the peer comparison builds the plain class-conditional U-Net: it needs model.skip=true, "
                          "model.class_embedding=true, model.conditioning=every_block and no "
                          f"model.attention_resolutions (got {m})")
    levels = len(m.channels)
    return load_diffusers().UNet2DModel(
        sample_size=cfg.data.image_size, in_channels=1, out_channels=1,
        block_out_channels=tuple(m.channels), layers_per_block=m.blocks_per_level,
        down_block_types=("DownBlock2D",) * levels, up_block_types=("UpBlock2D",) * levels,
        norm_num_groups=m.norm_groups, num_class_embeds=NULL_LABEL + 1, add_attention=False,
        time_embedding_dim=m.embed_dim, dropout=m.dropout)


def peer_schedulers(cfg: RunConfig) -> tuple[Any, Any]:
    """(DDPMScheduler for training, DDIMScheduler for sampling) on the config's beta schedule and T."""
    d = cfg.diffusion
    if d.formulation != "vp" or d.schedule not in BETA_SCHEDULES or d.prediction not in PREDICTION_TYPES:
        raise ConfigError(f"the peer comparison needs a vp network predicting {' or '.join(PREDICTION_TYPES)} on a "
                          f"schedule diffusers has ({', '.join(BETA_SCHEDULES)}); got diffusion.formulation="
                          f"{d.formulation}, diffusion.schedule={d.schedule}, diffusion.prediction={d.prediction}")
    lib = load_diffusers()
    ddpm = lib.DDPMScheduler(num_train_timesteps=d.timesteps, beta_start=d.beta_start, beta_end=d.beta_end,
                             beta_schedule=BETA_SCHEDULES[d.schedule], prediction_type=PREDICTION_TYPES[d.prediction],
                             clip_sample=True)
    # 'trailing' visits T-1 down to about 0, as the harness's 'uniform' spacing does (Lin et al. 2024)
    ddim = lib.DDIMScheduler.from_config(ddpm.config, timestep_spacing="trailing")
    return ddpm, ddim


class PeerNetwork(nn.Module):
    """diffusers' UNet2DModel called the way the harness calls its U-Net: (x_t, t, y) -> eps or v, so the harness's
    validation, guidance and FLOP counting run on it unchanged."""

    def __init__(self, unet: nn.Module) -> None:
        super().__init__()
        self.unet = unet  # a UNet2DModel with a class embedding

    def forward(self, x: Tensor, t: Tensor, y: Tensor) -> Tensor:  # (B, 1, H, W), (B,), (B,) -> (B, 1, H, W)
        return self.unet(x, t, class_labels=y).sample
