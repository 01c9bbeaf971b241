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


# ---- FastSELU: convwise's C++ SELU against F.selu ------------------------------------------------------


def _native_or_skip() -> None:
    from convwise.layers import native

    reason = native.why_unavailable()
    if reason is not None:
        pytest.skip(f"convwise's C++ kernels cannot be built here: {reason}")


@pytest.mark.parametrize(
    ("shape", "channels_last"),
    [((3, 8, 5, 7), True), ((3, 8, 5, 7), False), ((4, 129), False), ((1000,), False), ((2, 3, 1, 1), True)],
)
def test_fast_selu_matches_f_selu_with_gradients(shape, channels_last):
    _native_or_skip()
    from convwise.layers.fast import FastSELU

    torch.manual_seed(0)
    # Both sides of 0, near 0, the saturated tail, and large positives (the oracle is ATen's selu).
    x = torch.cat([torch.randn(shape).flatten() * 4, torch.tensor([0.0, -1e-6, 1e-6, -30.0, -104.0, 80.0])])
    x = x[: torch.Size(shape).numel()].reshape(shape)
    if channels_last:
        x = x.contiguous(memory_format=CL)
    act = FastSELU()
    assert act.path(x) == "native"
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    ours, ref = act(xa), nn.functional.selu(xb)
    torch.testing.assert_close(ours, ref, rtol=2e-6, atol=2e-6)
    assert ours.stride() == ref.stride()  # the input's memory format is kept
    grad = torch.randn(shape)  # contiguous even when x is channels-last: the kernel takes any layout
    ours.backward(grad)
    ref.backward(grad)
    torch.testing.assert_close(xa.grad, xb.grad, rtol=2e-6, atol=2e-6)


def test_fast_selu_keeps_inf_and_nan():
    _native_or_skip()
    from convwise.layers.fast import FastSELU

    x = torch.tensor([float("inf"), float("-inf"), float("nan")] + [0.5] * 29)  # > one vector of 16
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    ours, ref = FastSELU()(xa), nn.functional.selu(xb)
    torch.testing.assert_close(ours, ref, equal_nan=True)
    ours.sum().backward()
    ref.sum().backward()
    torch.testing.assert_close(xa.grad, xb.grad, equal_nan=True)


@pytest.mark.parametrize(
    "x",
    [
        torch.randn(2, 3, dtype=torch.float64),  # not fp32
        torch.randn(4, 6)[:, ::2],  # not dense
        torch.randn(2, 3, 4, 5).permute(0, 1, 3, 2),  # neither contiguous nor channels-last
    ],
)
def test_fast_selu_other_cases_are_f_selu(x):
    from convwise.layers.fast import FastSELU

    act = FastSELU()
    assert act.path(x) == "selu"
    torch.testing.assert_close(act(x), nn.functional.selu(x), rtol=0, atol=0)


def test_fast_selu_under_autocast_is_f_selu():
    from convwise.layers.fast import FastSELU

    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert FastSELU().path(torch.randn(2, 3)) == "selu"


def test_without_the_kernels_fast_selu_warns_once_and_runs_f_selu(monkeypatch):
    from convwise.layers import native
    from convwise.layers.fast import FastSELU

    monkeypatch.setenv("CONVWISE_NATIVE", "0")
    monkeypatch.setattr(native, "_STATE", {})
    x = torch.randn(5, 7)
    with pytest.warns(UserWarning, match="not used: disabled by CONVWISE_NATIVE=0"):
        assert FastSELU().path(x) == "selu"
    torch.testing.assert_close(FastSELU()(x), nn.functional.selu(x), rtol=0, atol=0)  # no second warning


def test_a_failing_build_is_a_warning_not_an_error(monkeypatch):
    from convwise.layers import native

    def broken() -> None:
        raise RuntimeError("Error building extension 'convwise_selu'\nsimulated compiler failure")

    monkeypatch.setattr(native, "_STATE", {})
    monkeypatch.setattr(native, "why_unavailable", lambda: None)
    monkeypatch.setattr(native, "_build", broken)
    with pytest.warns(UserWarning, match="infer.cpp, train.cpp failed: simulated compiler failure"):
        assert native.kernels() is None


def test_use_fast_layers_swaps_convs_selus_and_pools_keeping_the_state_dict():
    from convwise.layers.fast import FastMaxPool2d, FastSELU, FusedMaxPool2d, FusedSELU, use_fast_layers_

    torch.manual_seed(0)
    model = build("fashion_separable_cnn").to(memory_format=CL)
    x = torch.randn(4, 1, 28, 28).contiguous(memory_format=CL)
    expected, keys = model(x), list(model.state_dict())
    # 11 convolutions, 7 SELUs (six after convs, one after the dense layer), 3 max pools
    assert use_fast_layers_(model) == 11 + 7 + 3
    # the six SELUs after the first conv and the five pointwise convs run inside them
    fused = [m for m in model.modules() if isinstance(m, FastConv2d) and m.fused_selu]
    assert len(fused) == 6 and sum(isinstance(m, FusedSELU) for m in model.modules()) == 6
    assert sum(isinstance(m, FastSELU) for m in model.modules()) == 1  # after the dense layer
    # each max pool follows a pointwise conv's SELU: the three run inside those convs
    pools = {n: m.into for n, m in model.named_modules() if isinstance(m, FusedMaxPool2d)}
    assert len(pools) == 3 and not any(isinstance(m, FastMaxPool2d) for m in model.modules())
    assert all(model.get_submodule(conv).fused_pool for conv in pools.values())
    assert list(model.state_dict()) == keys
    torch.testing.assert_close(model(x), expected, rtol=1e-5, atol=1e-5)
    plain = build("fashion_separable_cnn")
    assert use_fast_layers_(plain, selu=False) == 11 + 3
    assert not any(isinstance(m, (FastSELU, FusedSELU, FusedMaxPool2d)) for m in plain.modules())
    assert sum(isinstance(m, FastMaxPool2d) for m in plain.modules()) == 3


def test_the_kernels_refuse_a_wrong_tensor_naming_what_they_got():
    _native_or_skip()
    from convwise.layers import native

    ops = native.kernels()
    with pytest.raises(RuntimeError, match="x must be a float32 CPU tensor, got Double"):
        ops.selu_forward(torch.zeros(3, dtype=torch.float64))
    y = torch.zeros(4, 6)
    with pytest.raises(RuntimeError, match=r"grad and y must have one layout, got \[6, 4\]"):
        ops.selu_backward(torch.zeros(6, 4), y)


@pytest.mark.parametrize(("cin", "kernel", "padding"), [(6, 1, 0), (1, 3, 1)])
def test_an_in_place_activation_after_a_fast_conv_trains_like_after_nn_conv2d(cin, kernel, padding):
    # ReLU(inplace=True) right after a conv is common; the fast paths' output must allow it
    torch.manual_seed(0)
    reference = nn.Sequential(nn.Conv2d(cin, 8, kernel, padding=padding), nn.ReLU(inplace=True))
    fast = nn.Sequential(nn.Conv2d(cin, 8, kernel, padding=padding), nn.ReLU(inplace=True))
    fast.load_state_dict(reference.state_dict())
    use_fast_convs_(fast)
    x = torch.randn(2, cin, 6, 5).contiguous(memory_format=CL)
    assert fast[0].path(x) in ("pointwise", "im2col")
    grad = torch.randn(2, 8, 6, 5)
    reference(x).backward(grad)
    fast(x).backward(grad)
    torch.testing.assert_close(fast[0].weight.grad, reference[0].weight.grad, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(fast[0].bias.grad, reference[0].bias.grad, rtol=1e-5, atol=1e-5)


def test_under_torch_compile_the_fast_convs_do_not_call_the_kernels(monkeypatch):
    # Dynamo cannot trace the extension's calls (a graph break and a warning per call, and the first
    # call would build the module inside the trace): compiled code takes the torch.mm products
    from convwise.layers import native

    def refuse() -> None:
        raise AssertionError("the kernels were called while compiling")

    torch.manual_seed(0)
    for conv in (nn.Conv2d(16, 32, 1), nn.Conv2d(1, 8, 3, padding=1)):
        reference, fast = _pair(conv)
        x = torch.randn(2, conv.in_channels, 6, 6).contiguous(memory_format=CL).requires_grad_()
        monkeypatch.setattr(torch.compiler, "is_compiling", lambda: True)
        monkeypatch.setattr(native, "kernels", refuse)
        out = fast(x)
        out.sum().backward()
        monkeypatch.undo()
        torch.testing.assert_close(out, reference(x), rtol=1e-5, atol=1e-5)
