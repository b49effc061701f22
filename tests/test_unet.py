import copy

import pytest
import torch

from harness.config import RunConfig, resolve_config
from harness.nn import ACTIVATIONS, MODULATIONS, TIME_EMBEDDINGS, count_parameters
from harness.nn._layers import ResBlock
from harness.runs import build_model

TINY = ["model.channels=[8, 16]", "model.embed_dim=16"]


def probe_batch(cfg: RunConfig) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Three noisy images (3, 1, H, W) at the first, a middle and the last timestep; digits 0, 9 and the null label."""
    size = cfg.data.image_size
    return torch.randn(3, 1, size, size), torch.tensor([0, 5, cfg.diffusion.timesteps - 1]), torch.tensor([0, 9, 10])


def forward_backward(overrides: list[str]) -> torch.nn.Module:
    cfg = resolve_config("baseline_v2", "smoke", TINY + overrides)  # vp: a learned table needs integer steps
    torch.manual_seed(0)
    model = build_model(cfg)
    x, t, y = probe_batch(cfg)
    out = model(x, t, y)
    assert out.shape == x.shape
    out.square().mean().backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)
    return model


@pytest.mark.parametrize("name", TIME_EMBEDDINGS.names())
def test_every_time_embedding_runs_forward_and_backward(name: str) -> None:
    forward_backward([f"model.time_embedding={name}"])


@pytest.mark.parametrize("name", ACTIVATIONS.names())
def test_every_activation_runs_forward_and_backward(name: str) -> None:
    forward_backward([f"model.activation={name}"])


@pytest.mark.parametrize("name", MODULATIONS.names())
def test_every_modulation_runs_forward_and_backward(name: str) -> None:
    forward_backward([f"model.modulation={name}"])


@pytest.mark.parametrize("name", MODULATIONS.names())
def test_a_zero_embedding_projection_leaves_every_modulation_a_plain_block(name: str) -> None:
    # both forms are built so that an untrained (zero) projection conditions nothing: the block is then the
    # unconditioned one, whatever the embedding
    torch.manual_seed(0)
    block = ResBlock(8, 16, 12, 4, 0.0, torch.nn.SiLU, MODULATIONS.get(name))
    torch.nn.init.zeros_(block.emb.weight)
    torch.nn.init.zeros_(block.emb.bias)
    x = torch.randn(2, 8, 7, 7)
    torch.testing.assert_close(block(x, torch.randn(2, 12)), block(x, None))


def test_scale_shift_is_adaptive_group_norm() -> None:
    """Dhariwal & Nichol 2021's AdaGN: GroupNorm(h) * (1 + scale) + shift, with [scale, shift] = Linear(emb)."""
    torch.manual_seed(0)
    block = ResBlock(8, 16, 12, 4, 0.0, torch.nn.SiLU, MODULATIONS.get("scale_shift"))
    x, emb = torch.randn(2, 8, 7, 7), torch.randn(2, 12)
    h = block.conv1(torch.nn.functional.silu(block.norm1(x)))
    scale, shift = (emb @ block.emb.weight.T + block.emb.bias).split(16, dim=1)  # each (B, 16)
    h = block.norm2(h) * (1 + scale[:, :, None, None]) + shift[:, :, None, None]
    expected = block.conv2(torch.nn.functional.silu(h)) + block.shortcut(x)
    torch.testing.assert_close(block(x, emb), expected)


def test_scale_shift_doubles_only_the_embedding_projections() -> None:
    add = forward_backward([])
    adagn = forward_backward(["model.modulation=scale_shift"])
    projections = [m.emb.out_features for m in add.modules() if isinstance(m, ResBlock) and m.emb is not None]
    assert count_parameters(adagn) - count_parameters(add) == sum((16 + 1) * c for c in projections)  # embed_dim 16


SWITCHES = [
    ["model.skip=false"],
    ["model.class_embedding=false"],
    ["model.conditioning=bottleneck"],
    ["model.conditioning=bottleneck", "model.modulation=scale_shift"],
    ["model.attention_resolutions=[14]"],
    ["model.attention_resolutions=[28, 14]", "model.attention_heads=2"],
    ["model.blocks_per_level=2", "model.dropout=0.1"],
    ["data.pad_to_32=true", "model.channels=[8, 16, 16, 16]"],
]


@pytest.mark.parametrize("switches", SWITCHES)
def test_every_network_switch_runs_forward_and_backward(switches: list[str]) -> None:
    forward_backward(switches)


# without the dropout switch: its masks would differ between the two networks' calls
@pytest.mark.parametrize("switches", [[], *[s for s in SWITCHES if "model.dropout=0.1" not in s]])
def test_channels_last_as_on_cuda_gives_the_contiguous_network_s_output_and_gradients(switches: list[str]) -> None:
    # CUDA runs every network channels-last (devices.memory_format), a path this CPU-only suite would otherwise never
    # take: a reshape that assumes NCHW strides would first fail, or silently scramble pixels, on a GPU
    cfg = resolve_config("baseline", "smoke", TINY + switches)
    torch.manual_seed(0)
    nchw = build_model(cfg)
    for p in nchw.parameters():
        torch.nn.init.normal_(p, std=0.2)  # the zero-initialised output would hide every difference
    last = copy.deepcopy(nchw).to(memory_format=torch.channels_last)
    layouts = []
    last.down[0][0].block.conv1.register_forward_pre_hook(
        lambda module, inputs: layouts.append(inputs[0].is_contiguous(memory_format=torch.channels_last)))
    x, t, y = probe_batch(cfg)
    outs = [net(x.contiguous(memory_format=fmt), t, y) for net, fmt in ((nchw, torch.contiguous_format),
                                                                        (last, torch.channels_last))]
    assert layouts == [True]  # the layers between really ran channels-last
    torch.testing.assert_close(outs[1], outs[0], rtol=1e-4, atol=1e-5)
    for out in outs:
        out.square().mean().backward()
    for (name, p), q in zip(nchw.named_parameters(), last.parameters()):
        torch.testing.assert_close(q.grad, p.grad, rtol=1e-4, atol=1e-5, msg=lambda m, name=name: f"{name}: {m}")


def test_switches_change_the_network_they_name() -> None:
    full = count_parameters(forward_backward([]))
    assert count_parameters(forward_backward(["model.skip=false"])) < full  # decoder blocks lose the concat inputs
    assert count_parameters(forward_backward(["model.class_embedding=false"])) == full - 11 * 16
    assert count_parameters(forward_backward(["model.attention_resolutions=[14]"])) > full


def test_bottleneck_conditioning_reaches_only_the_middle_blocks() -> None:
    model = forward_backward(["model.conditioning=bottleneck"])
    with_emb = [n for n, m in model.named_modules() if getattr(m, "emb", None) is not None]
    assert with_emb and all(n.startswith("mid.") for n in with_emb)


def test_class_label_changes_the_output_and_time_embedding_none_ignores_t() -> None:
    cfg = resolve_config("baseline", "smoke", TINY + ["model.time_embedding=none"])
    torch.manual_seed(0)
    model = build_model(cfg)
    torch.nn.init.normal_(model.out[-1].weight)  # the zero-initialised output would hide every difference
    x = torch.randn(1, 1, 28, 28)
    out = lambda t, y: model(x, torch.tensor([t]), torch.tensor([y]))  # noqa: E731
    torch.testing.assert_close(out(0, 3), out(900, 3))
    assert not torch.allclose(out(0, 3), out(0, 4))


def test_report_presets_parameter_counts() -> None:
    """Recorded counts of our U-Net at the reports' widths (see README for report 004's 957,513)."""
    presets = ("baseline", "baseline_v4", "report002", "report004")
    counts = {p: count_parameters(build_model(resolve_config(p, "quick"))) for p in presets}
    assert counts == {"baseline": 542_337, "baseline_v4": 496_929, "report002": 11_062_785, "report004": 1_787_841}
