import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from harness.nn import PointwiseConv, Upsample


def resize_then_conv(up: Upsample, x: torch.Tensor) -> torch.Tensor:
    """The definition Upsample computes another way: nearest 2x, then its 3x3 conv."""
    return up.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


@pytest.mark.parametrize("shape, out_ch", [((2, 5, 4, 6), 3), ((3, 32, 7, 7), 16), ((1, 1, 1, 1), 2)])
def test_upsample_is_nearest_resize_then_3x3_conv_in_values_and_gradients(shape: tuple[int, ...], out_ch: int) -> None:
    torch.manual_seed(0)
    up = Upsample(shape[1], out_ch)
    x = torch.randn(shape, requires_grad=True)
    got, want = up(x), resize_then_conv(up, x)
    assert got.shape == (shape[0], out_ch, 2 * shape[2], 2 * shape[3])
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
    weights = torch.randn_like(want)  # a loss that weighs every output differently
    grads = torch.autograd.grad((got * weights).sum(), [x, up.conv.weight, up.conv.bias])
    wants = torch.autograd.grad((want * weights).sum(), [x, up.conv.weight, up.conv.bias])
    for g, w in zip(grads, wants):
        torch.testing.assert_close(g, w, rtol=1e-4, atol=1e-4)


def test_upsample_checkpoint_holds_only_the_plain_conv() -> None:
    up = Upsample(4, 2)
    assert sorted(up.state_dict()) == ["conv.bias", "conv.weight"]


@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last])
@pytest.mark.parametrize("shape, out_ch", [((2, 5, 4, 6), 3), ((3, 32, 7, 7), 16), ((1, 1, 1, 1), 2)])
def test_pointwise_conv_is_a_1x1_conv_in_values_and_gradients(shape: tuple[int, ...], out_ch: int,
                                                              layout: torch.memory_format) -> None:
    torch.manual_seed(0)
    pointwise = PointwiseConv(shape[1], out_ch)
    conv = nn.Conv2d(shape[1], out_ch, 1)
    conv.load_state_dict(pointwise.state_dict())  # the same keys and shapes: checkpoints load either way
    x = torch.randn(shape).contiguous(memory_format=layout).requires_grad_()
    got, want = pointwise(x), conv(x)
    assert got.shape == (shape[0], out_ch, *shape[2:])
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
    weights = torch.randn_like(want)
    grads = torch.autograd.grad((got * weights).sum(), [x, pointwise.weight, pointwise.bias])
    wants = torch.autograd.grad((want * weights).sum(), [x, conv.weight, conv.bias])
    for g, w in zip(grads, wants):
        torch.testing.assert_close(g, w, rtol=1e-4, atol=1e-4)


def test_pointwise_conv_under_bf16_autocast_computes_in_bf16_as_the_conv_does() -> None:
    torch.manual_seed(0)
    pointwise, conv = PointwiseConv(8, 4), nn.Conv2d(8, 4, 1)
    conv.load_state_dict(pointwise.state_dict())
    x = torch.randn(2, 8, 5, 5)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        got, want = pointwise(x), conv(x)
    assert got.dtype == want.dtype == torch.bfloat16
    torch.testing.assert_close(got, want, rtol=2e-2, atol=2e-2)


@pytest.mark.parametrize("layout, op", [(torch.contiguous_format, torch.ops.aten.baddbmm),
                                        (torch.channels_last, torch.ops.aten.convolution)])
def test_pointwise_conv_runs_a_matmul_on_nchw_and_the_conv_on_channels_last(layout: torch.memory_format,
                                                                           op: object) -> None:
    """The matmul is the point on CPU (NCHW); channels-last input (CUDA) keeps the conv, which reads it directly."""
    x = torch.randn(2, 8, 5, 5).contiguous(memory_format=layout)
    with FlopCounterMode(display=False) as counter:
        PointwiseConv(8, 4)(x)
    assert list(counter.get_flop_counts()["Global"]) == [op]
