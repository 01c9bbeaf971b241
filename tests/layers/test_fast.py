"""FastConv2d against nn.Conv2d: outputs and all three gradients, the path it picks, unchanged state dicts."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from convwise.layers.fast import FastConv2d, use_fast_convs_
from convwise.models import build

CL = torch.channels_last


def _pair(conv: nn.Conv2d) -> tuple[nn.Conv2d, FastConv2d]:
    reference = nn.Conv2d(
        conv.in_channels,
        conv.out_channels,
        conv.kernel_size,
        padding=conv.padding,
        groups=conv.groups,
        bias=conv.bias is not None,
        dtype=conv.weight.dtype,
    )
    reference.load_state_dict(conv.state_dict())
    return reference, FastConv2d.from_conv(conv)


@pytest.mark.parametrize(
    ("cin", "cout", "kernel", "padding", "bias", "path"),
    [
        (32, 16, 1, 0, True, "pointwise"),
        (8, 24, 1, 0, False, "pointwise"),
        (1, 32, 3, 1, True, "im2col"),  # the seed CNN's first layer
        (3, 8, 3, 1, False, "im2col"),
        (1, 4, 5, 2, True, "im2col"),
        (16, 16, 3, 1, True, "conv2d"),  # Cin·k·k = 144 > 27: oneDNN
    ],
)
def test_output_and_gradients_match_nn_conv2d(cin, cout, kernel, padding, bias, path):
    torch.manual_seed(0)
    conv = nn.Conv2d(cin, cout, kernel, padding=padding, bias=bias)
    reference, fast = _pair(conv)
    x = torch.randn(3, cin, 9, 7).contiguous(memory_format=CL)
    assert fast.path(x) == path
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    out_ref, out_fast = reference(xa), fast(xb)
    torch.testing.assert_close(out_fast, out_ref, rtol=1e-5, atol=1e-5)
    assert out_fast.is_contiguous(memory_format=CL)
    grad = torch.randn_like(out_ref)
    out_ref.backward(grad)
    out_fast.backward(grad)
    torch.testing.assert_close(xb.grad, xa.grad, rtol=1e-5, atol=1e-4)
    torch.testing.assert_close(fast.weight.grad, reference.weight.grad, rtol=1e-5, atol=1e-4)
    if bias:
        torch.testing.assert_close(fast.bias.grad, reference.bias.grad, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("kind", ["pointwise", "im2col"])
def test_gradcheck_in_float64(kind):
    # float64 takes the plain path (the fast one is fp32 only), so check the kernels themselves here.
    from convwise.layers.fast import _Im2colMM, _PointwiseMM

    torch.manual_seed(0)
    x = torch.randn(2, 3, 5, 4, dtype=torch.float64).contiguous(memory_format=CL).requires_grad_()
    b = torch.randn(4, dtype=torch.float64, requires_grad=True)
    if kind == "pointwise":
        w = torch.randn(4, 3, 1, 1, dtype=torch.float64, requires_grad=True)
        assert torch.autograd.gradcheck(lambda x, w, b: _PointwiseMM.apply(x, w, b), (x, w, b))
    else:
        w = torch.randn(4, 3, 3, 3, dtype=torch.float64, requires_grad=True)
        fn = lambda x, w, b: _Im2colMM.apply(x, w, b, (1, 1, 1, 1))  # noqa: E731
        assert torch.autograd.gradcheck(fn, (x, w, b))
        torch.testing.assert_close(fn(x, w, b), nn.functional.conv2d(x, w, b, padding=1))


@pytest.mark.parametrize(
    ("conv", "x"),
    [
        (nn.Conv2d(4, 4, 1), torch.randn(1, 4, 5, 5)),  # NCHW input
        (nn.Conv2d(4, 4, 1, stride=2), torch.randn(1, 4, 5, 5).contiguous(memory_format=CL)),
        (nn.Conv2d(4, 4, 3, padding=1, groups=4), torch.randn(1, 4, 5, 5).contiguous(memory_format=CL)),
        (nn.Conv2d(1, 4, 3, padding=0), torch.randn(1, 1, 5, 5).contiguous(memory_format=CL)),
        (
            nn.Conv2d(1, 4, 3, padding=1, padding_mode="reflect"),
            torch.randn(1, 1, 5, 5).contiguous(memory_format=CL),
        ),
        (nn.Conv2d(1, 4, 3, padding=1, dilation=2), torch.randn(1, 1, 5, 5).contiguous(memory_format=CL)),
    ],
)
def test_other_cases_are_plain_conv2d(conv, x):
    fast = FastConv2d.from_conv(conv)
    assert fast.path(x) == "conv2d"
    torch.testing.assert_close(fast(x), conv(x), rtol=0, atol=0)


def test_the_zoo_model_keeps_its_state_dict_and_function():
    torch.manual_seed(0)
    model = build("fashion_separable_cnn").to(memory_format=CL)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    x = torch.randn(4, 1, 28, 28).contiguous(memory_format=CL)
    expected = model(x)
    assert use_fast_convs_(model) == 11  # conv2d + 5 x (depthwise, pointwise); none for the dense layers
    assert list(model.state_dict()) == list(before)
    assert all(torch.equal(model.state_dict()[k], v) for k, v in before.items())
    paths = [
        m.path(torch.empty(1, m.in_channels, 7, 7).contiguous(memory_format=CL))
        for m in model.modules()
        if isinstance(m, FastConv2d)
    ]
    assert paths.count("pointwise") == 5 and paths.count("im2col") == 1 and paths.count("conv2d") == 5
    torch.testing.assert_close(model(x), expected, rtol=1e-5, atol=1e-5)
    assert sum(p.numel() for p in model.parameters()) == 184_234
