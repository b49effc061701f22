"""The Diffusion Transformer backbone (Peebles & Xie 2023): patches, adaLN-Zero, every formulation and target."""

import pytest
import torch

from harness._util import ConfigError
from harness.config import config_hash, resolve_config
from harness.core import FORMULATIONS, PREDICTIONS, Diffusion, Objective
from harness.nn import BACKBONES, POSITION_EMBEDDINGS, DiT, count_parameters, forward_gflop, patchify, unpatchify
from harness.nn._dit import DiTBlock
from harness.runs import build_model

TINY = ["model.backbone=dit", "model.width=16", "model.depth=2", "model.attention_heads=2", "model.embed_dim=16"]


@pytest.mark.parametrize("side, patch", [(28, 1), (28, 2), (28, 4), (28, 7), (32, 2), (32, 4)])
def test_patchify_and_unpatchify_round_trip_exactly(side: int, patch: int) -> None:
    x = torch.randn(3, 1, side, side)  # (B, C, H, W)
    tokens = patchify(x, patch)
    assert tokens.shape == (3, (side // patch) ** 2, patch * patch)
    assert torch.equal(unpatchify(tokens, patch, side, 1), x)


def test_a_token_holds_its_own_patch_in_row_major_order() -> None:
    x = torch.arange(16.0).reshape(1, 1, 4, 4)
    tokens = patchify(x, 2)  # (1, 4, 4): patches top-left, top-right, bottom-left, bottom-right
    assert tokens[0].tolist() == [[0, 1, 4, 5], [2, 3, 6, 7], [8, 9, 12, 13], [10, 11, 14, 15]]


def test_an_adaln_zero_block_starts_as_the_identity() -> None:
    block = DiTBlock(width=16, heads=2, mlp_ratio=4.0, emb_dim=8)
    x, c = torch.randn(2, 5, 16), torch.randn(2, 8)  # (B, N, D), (B, E)
    assert torch.equal(block(x, c), x)
    torch.nn.init.normal_(block.modulation.weight)  # once the gates are regressed away from zero it is not
    assert not torch.allclose(block(x, c), x)


def test_a_fresh_dit_is_the_zero_predictor_and_learns_from_its_first_step() -> None:
    cfg = resolve_config("baseline", "smoke", TINY)
    torch.manual_seed(0)
    model = build_model(cfg)
    assert isinstance(model, DiT)
    x, t, y = torch.randn(4, 1, 28, 28), torch.randint(0, 1000, (4,)), torch.tensor([0, 3, 9, 10])
    out = model(x, t, y)
    assert torch.equal(out, torch.zeros_like(x))
    (out - x).square().mean().backward()
    assert model.final.linear.weight.grad.abs().sum() > 0  # the output layer is what the first step moves


# vp with each of its prediction targets; edm and flow, which fix their own, in their papers' recipes (presets)
TARGETS = [("baseline", f"diffusion.prediction={p}") for p in PREDICTIONS.names()] + [
    (f, "diffusion.prediction=v") for f in FORMULATIONS.names() if f != "vp"]


@pytest.mark.parametrize("preset, prediction", TARGETS)
def test_every_formulation_and_target_trains_the_dit_forward_and_backward(preset: str, prediction: str) -> None:
    cfg = resolve_config(preset, "smoke", [*TINY, prediction])
    torch.manual_seed(0)
    model = build_model(cfg)
    for p in model.parameters():
        torch.nn.init.normal_(p, std=0.05)  # the zero-initialised gates would stop every gradient but the last layer's
    objective = Objective(Diffusion(cfg.diffusion), cfg.train)
    x0 = torch.rand(4, 1, 28, 28) * 2 - 1  # (B, 1, H, W)
    t = objective.draw(4, torch.Generator().manual_seed(0))  # the formulation's own time: long t, sigma or t in [0, 1]
    loss = objective.loss(model, x0, t, torch.randn_like(x0), torch.tensor([0, 1, 2, 10]), None)
    loss.backward()
    assert torch.isfinite(loss)
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0, name


@pytest.mark.parametrize("name", POSITION_EMBEDDINGS.names())
def test_every_position_embedding_tells_every_patch_apart(name: str) -> None:
    table = POSITION_EMBEDDINGS.get(name)(7, 32)()  # (1, 49, 32)
    assert table.shape == (1, 49, 32)
    assert torch.cdist(table[0], table[0]).add(torch.eye(49) * 1e9).min() > 1e-3


def test_the_class_label_and_the_time_change_the_output() -> None:
    cfg = resolve_config("baseline", "smoke", TINY)
    torch.manual_seed(0)
    model = build_model(cfg)
    for p in model.parameters():
        torch.nn.init.normal_(p, std=0.1)
    x = torch.randn(1, 1, 28, 28)
    base = model(x, torch.tensor([10]), torch.tensor([3]))
    assert not torch.allclose(base, model(x, torch.tensor([10]), torch.tensor([4])))
    assert not torch.allclose(base, model(x, torch.tensor([900]), torch.tensor([3])))


def test_dit_small_costs_the_baseline_unets_forward_flops_within_five_percent() -> None:
    unet, dit = (build_model(resolve_config(p, "quick")) for p in ("baseline", "dit_small"))
    assert isinstance(dit, BACKBONES.get("dit")) and count_parameters(dit) > 0
    assert forward_gflop(dit, 28) == pytest.approx(forward_gflop(unet, 28), rel=0.05)


@pytest.mark.parametrize("overrides, message", [
    (["model.patch_size=3"], "model.patch_size must divide the 28-pixel image side"),
    (["model.width=18"], "model.width must be a multiple of 4 and of model.attention_heads=2, got 18"),
    (["model.conditioning=bottleneck"], "must be every_block under model.backbone=dit"),
    (["model.backbone=vit"], "unknown backbone 'vit'"),
    (["model.position_embedding=rope"], "unknown position_embedding 'rope'"),
])
def test_an_invalid_dit_is_refused_in_one_line(overrides: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build_model(resolve_config("baseline", "smoke", TINY + overrides))


def test_the_dit_fields_leave_every_unet_configs_hash_as_it_was() -> None:
    # the hashes of runs cached before the backbone existed (their folders in results/runs)
    assert config_hash(resolve_config("baseline_v2", "smoke")) == "eec18bb31bfa"
    assert config_hash(resolve_config("baseline_v2", "quick", ["train.steps=400", "train.batch_size=128"])) == "c536e3fd7c1b"
    assert config_hash(resolve_config("dit_small", "quick")) != config_hash(resolve_config("baseline_v2", "quick"))
