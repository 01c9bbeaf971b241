"""`convwise.deploy.pad`: TF-"same" zero padding moved into the kernel gives the padded conv's output."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from bn_nets import randomize_bn
from convwise import deploy
from convwise.deploy.pad import KernelPaddedConv2d, absorb_padding, kernel_padded
from convwise.layers import DepthwiseConv2d, StandardConv2d


@pytest.mark.parametrize(
    ("pads", "stride", "groups"),
    [
        ((0, 1, 0, 1), 2, 6),  # TF "same", stride 2, even input: the extra row/column below/right
        ((1, 2, 0, 1), 2, 1),
        ((2, 0, 1, 0), 1, 3),  # more padding on top/left: the zero taps go below/right
        ((0, 3, 1, 1), 3, 6),
    ],
)
def test_wide_kernel_equals_pad_then_conv(pads: tuple[int, int, int, int], stride: int, groups: int) -> None:
    torch.manual_seed(0)
    conv = nn.Conv2d(6, 6, 3, stride=stride, groups=groups)
    wide = kernel_padded(conv, pads)
    assert wide is not None
    top, bottom, left, right = pads
    for size in ((10, 10), (9, 12)):
        x = torch.randn(2, 6, *size)
        with torch.no_grad():
            ref = conv(F.pad(x, (left, right, top, bottom)))  # the oracle: what SpecConv2d computes
            out = wide(x)
        assert out.shape == ref.shape
        torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-6)


def test_convs_it_cannot_express_are_left_alone() -> None:
    assert kernel_padded(nn.Conv2d(2, 2, 3, padding=1), (0, 1, 0, 1)) is None
    assert kernel_padded(nn.Conv2d(2, 2, 3, dilation=2), (0, 1, 0, 1)) is None
    assert kernel_padded(nn.Conv2d(2, 2, 3, padding_mode="reflect"), (0, 1, 0, 1)) is None


def _same_net() -> nn.Module:
    torch.manual_seed(0)
    net = nn.Sequential(
        StandardConv2d(3, 8, 3, stride=2, padding="same"),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        DepthwiseConv2d(8, 3, stride=2, padding="same"),
        nn.ReLU6(),
        DepthwiseConv2d(8, 3, padding="same"),  # stride 1: symmetric, nn.Conv2d pads it itself
        nn.Flatten(),
    ).eval()
    randomize_bn(net)
    return net


def test_absorbed_for_the_example_size_and_exact_at_other_sizes() -> None:
    net = _same_net()
    fast = deploy.optimize(net, example=torch.randn(1, 3, 16, 16))
    assert fast.padded == ["0.conv", "3.conv"]
    assert isinstance(fast.model[3].conv, KernelPaddedConv2d)
    assert fast.model[3].conv.conv.kernel_size == (4, 4)
    # the activations are fused into the wide convs
    assert {n: a for n, a in fast.fused_into.items() if a} == {"0.conv.conv": "2", "3.conv.conv": "4"}
    for size in (16, 15, 17, 22):  # 16: the wide convs; the others: the original convs + the activation
        x = torch.randn(4, 3, size, size)
        with torch.no_grad():
            ref = net(x)
        assert (ref < 0).any()  # ReLU6 then a conv with bias: a missing activation would show
        torch.testing.assert_close(fast(x), ref, rtol=deploy.RTOL, atol=deploy.ATOL)


def test_without_example_absorbed_on_first_call_and_can_be_switched_off() -> None:
    net = _same_net()
    lazy = deploy.optimize(net)
    x = torch.randn(2, 3, 12, 12)
    with torch.no_grad():
        ref = net(x)
    torch.testing.assert_close(lazy(x), ref, rtol=deploy.RTOL, atol=deploy.ATOL)
    assert lazy.padded == ["0.conv", "3.conv"]
    off = deploy.optimize(net, example=x, pad_in_kernel=False)
    assert off.padded == [] and not any(isinstance(m, KernelPaddedConv2d) for m in off.modules())


def test_spec_conv_seen_at_two_sizes_is_not_absorbed() -> None:
    layer = DepthwiseConv2d(4, 3, stride=2, padding="same")

    class Twice(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.layer = layer

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.layer(x).sum() + self.layer(x[..., :-2, :-2]).sum()

    assert absorb_padding(Twice().eval(), torch.randn(1, 4, 8, 8)) == []
