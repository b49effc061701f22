"""Autoguidance (Karras et al. 2024, "Guiding a Diffusion Model with a Bad Version of Itself"): the conditional
network guided by a weaker version of itself - an earlier step of the same run, or another (e.g. narrower) run."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor, nn

from .._util import CheckpointError, atomic_write
from ..config import RunConfig, SampleConfig, kept_step
from ..core import NULL_LABEL
from ._checkpoint import CHECKPOINT, TrainedModel, build_model, load_trained

KEPT = "weights"  # <run>/weights/step_<N>.pt: the weights train.keep_weights_at keeps


def kept_weights_path(run_dir: Path, step: int) -> Path:
    return Path(run_dir) / KEPT / f"step_{step:07d}.pt"


def save_kept_weights(run_dir: Path, step: int, weights: dict[str, Tensor]) -> None:
    atomic_write(kept_weights_path(run_dir, step), lambda f: torch.save(weights, f))


class AutoGuided(nn.Module):
    """D = D_guide + w (D_main - D_guide) (their Eq. 2), both networks given the same label: the digit's, or the null
    label when the unconditional model is guided (sample.unconditional). With `guide_unconditional` the guide sees
    the null label and the main network the digit's: classifier-free guidance whose unconditional pass is the weaker
    network, as EDM2 guided (Karras et al. 2024b). The formulations map a network's output to the denoised image
    affinely with the same coefficients for both networks, so guiding the outputs guides D."""

    def __init__(self, main: nn.Module, guide: nn.Module, guidance: float, guide_unconditional: bool = False) -> None:
        super().__init__()
        self.main, self.guide, self.guidance = main, guide, guidance
        self.guide_unconditional = guide_unconditional  # the guide sees the null label (sample.guide_unconditional)
        self.class_embed = getattr(main, "class_embed", None)  # conditional exactly when the main network is

    def forward(self, x: Tensor, t: Tensor, y: Tensor) -> Tensor:
        guide = self.guide(x, t, torch.full_like(y, NULL_LABEL) if self.guide_unconditional else y)
        return guide + self.guidance * (self.main(x, t, y) - guide)


def with_guide(trained: TrainedModel, run_dir: Path, sample: SampleConfig, device: torch.device) -> TrainedModel:
    """`trained` with its network wrapped in `AutoGuided` when `sample` asks for autoguidance; as it was otherwise.
    A missing guide, or one of another formulation or image size, is one clear error before any sampling."""
    if sample.guidance_method != "autoguidance":
        return trained
    if sample.guide_at:
        step = kept_step(sample.guide_at, trained.cfg.train.steps)
        path = kept_weights_path(run_dir, step)
        if not path.is_file():
            raise CheckpointError(f"{run_dir} kept no weights at step {step} ({path} is missing); train it with "
                                  f"train.keep_weights_at=[{sample.guide_at}] or name another sample.guide_at")
        guide = build_model(trained.cfg)
        guide.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    else:
        if not (Path(sample.guide_run) / CHECKPOINT).is_file():
            raise CheckpointError(f"sample.guide_run={sample.guide_run} holds no trained run ({CHECKPOINT} is missing)")
        other = load_trained(Path(sample.guide_run))
        _check_compatible(trained.cfg, other.cfg, sample.guide_run)
        guide = other.model
    guide.to(device).eval()
    wrapped = AutoGuided(trained.model, guide, sample.guidance, sample.guide_unconditional).to(device).eval()
    return TrainedModel(trained.cfg, wrapped, trained.diffusion, trained.step, trained.ema)


def _check_compatible(main: RunConfig, guide: RunConfig, where: str) -> None:
    for what, mine, theirs in (("diffusion", main.diffusion, guide.diffusion),
                               ("image size", main.data.image_size, guide.data.image_size)):
        if mine != theirs:
            raise CheckpointError(f"sample.guide_run={where} cannot guide this run: its {what} differs ({theirs} "
                                  f"against {mine}); guide with a run of the same formulation and image size")
