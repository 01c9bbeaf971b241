"""FastMaxPool2d against F.max_pool2d, conv + SELU fusion against nn.Conv2d + F.selu (values, gradients)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from convwise.layers import native
from convwise.layers.fast import (
    FastMaxPool2d,
    FastSELU,
    FusedMaxPool2d,
    FusedSELU,
    fuse_conv_pool_,
    fuse_conv_selu_,
    use_fast_convs_,
    use_fast_layers_,
)

CL = torch.channels_last


def _assert_trains_like(reference, fast, x, *, input_grad=True, bias=True, rtol=1e-5, atol=1e-4):  # type: ignore[no-untyped-def]
    """Output (channels-last) and gradients of `fast` on `x` are those of `reference`; the weight and
    bias gradients within rtol/atol."""
    xa, xb = x.clone().requires_grad_(input_grad), x.clone().requires_grad_(input_grad)
    out_ref, out = reference(xa), fast(xb)
    torch.testing.assert_close(out, out_ref, rtol=1e-5, atol=1e-5)
    assert out.is_contiguous(memory_format=CL)
    grad = torch.randn_like(out_ref)
    out_ref.backward(grad)
    out.backward(grad)
    if input_grad:
        torch.testing.assert_close(xb.grad, xa.grad, rtol=1e-5, atol=1e-4)
        assert xb.grad.is_contiguous(memory_format=CL)
    torch.testing.assert_close(fast[0].weight.grad, reference[0].weight.grad, rtol=rtol, atol=atol)
    if bias:
        torch.testing.assert_close(fast[0].bias.grad, reference[0].bias.grad, rtol=rtol, atol=atol)


@pytest.fixture(autouse=True)
def _kernels() -> None:
    reason = native.why_unavailable()
    if reason is not None:
        pytest.skip(f"convwise's C++ kernels cannot be built here: {reason}")


# ---- FastMaxPool2d --------------------------------------------------------------------------------------


def _awkward(shape: tuple[int, ...], seed: int) -> torch.Tensor:
    """Random values with ties (repeated values), NaNs and infinities, in channels-last memory."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(-3, 4, shape, generator=g).float()  # few distinct values: many ties in a window
    flat = x.view(-1)
    picks = torch.randperm(flat.numel(), generator=g)[:6]
    flat[picks[:2]] = float("nan")
    flat[picks[2:4]] = float("inf")
    flat[picks[4:]] = float("-inf")
    return x.contiguous(memory_format=CL)


@pytest.mark.parametrize("shape", [(2, 32, 28, 28), (3, 13, 7, 9), (1, 5, 2, 3), (2, 17, 6, 5), (1, 1, 3, 3)])
def test_max_pool_matches_f_max_pool2d_exactly_with_gradients(shape):
    x = _awkward(shape, seed=sum(shape))
    assert FastMaxPool2d(2).path(x) == "native"
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    ref, out = F.max_pool2d(xa, 2), FastMaxPool2d(2)(xb)
    assert out.shape == ref.shape and out.is_contiguous(memory_format=CL)
    torch.testing.assert_close(out, ref, rtol=0, atol=0, equal_nan=True)
    grad = torch.randn(ref.shape).contiguous(memory_format=CL)
    ref.backward(grad)
    out.backward(grad)
    # the gradient goes to the same tap (first maximum, NaN winning) and dropped rows/columns get zero
    torch.testing.assert_close(xb.grad, xa.grad, rtol=0, atol=0)
    assert xb.grad.is_contiguous(memory_format=CL)


def test_max_pool_backward_takes_a_gradient_in_any_layout():
    x = torch.randn(2, 8, 6, 6).contiguous(memory_format=CL)
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    grad = torch.randn(2, 8, 3, 3)  # NCHW-contiguous
    F.max_pool2d(xa, 2).backward(grad)
    FastMaxPool2d(2)(xb).backward(grad)
    torch.testing.assert_close(xb.grad, xa.grad, rtol=0, atol=0)


@pytest.mark.parametrize(
    ("pool", "x"),
    [
        (FastMaxPool2d(2), torch.randn(1, 4, 6, 6)),  # NCHW
        (FastMaxPool2d(2), torch.randn(1, 4, 6, 6, dtype=torch.float64).contiguous(memory_format=CL)),
        (FastMaxPool2d(3), torch.randn(1, 4, 6, 6).contiguous(memory_format=CL)),
        (FastMaxPool2d(2, stride=1), torch.randn(1, 4, 6, 6).contiguous(memory_format=CL)),
        (FastMaxPool2d(2, padding=1), torch.randn(1, 4, 6, 6).contiguous(memory_format=CL)),
        (FastMaxPool2d(2, ceil_mode=True), torch.randn(1, 4, 5, 5).contiguous(memory_format=CL)),
        (FastMaxPool2d(2, dilation=2), torch.randn(1, 4, 6, 6).contiguous(memory_format=CL)),
    ],
)
def test_other_max_pools_are_nn_max_pool2d(pool, x):
    assert pool.path(x) == "max_pool2d"
    reference = nn.MaxPool2d(
        pool.kernel_size, pool.stride, pool.padding, pool.dilation, ceil_mode=pool.ceil_mode
    )
    torch.testing.assert_close(pool(x), reference(x), rtol=0, atol=0)


# ---- conv + SELU fused ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cin", "cout", "kernel", "padding", "bias", "input_grad"),
    [
        (32, 32, 1, 0, True, True),  # a pointwise conv of the seed CNN
        (12, 13, 1, 0, True, True),  # channels not a multiple of the vector width: the scalar tails
        (8, 24, 1, 0, False, True),
        (1, 32, 3, 1, True, False),  # the seed CNN's first layer (data input)
        (3, 5, 3, 1, True, True),  # im2col with the input gradient through oneDNN
    ],
)
def test_conv_selu_fused_matches_conv_then_selu(cin, cout, kernel, padding, bias, input_grad):
    torch.manual_seed(0)
    reference = nn.Sequential(nn.Conv2d(cin, cout, kernel, padding=padding, bias=bias), nn.SELU())
    fast = nn.Sequential(nn.Conv2d(cin, cout, kernel, padding=padding, bias=bias), nn.SELU())
    fast.load_state_dict(reference.state_dict())
    use_fast_convs_(fast)
    assert fuse_conv_selu_(fast) == 1
    assert fast[0].fused_selu and isinstance(fast[1], FusedSELU)
    x = torch.randn(3, cin, 9, 7).contiguous(memory_format=CL)
    _assert_trains_like(reference, fast, x, input_grad=input_grad, bias=bias)


@pytest.mark.parametrize(
    ("rows", "cin", "cout", "selu", "needs"),
    [
        (1000, 32, 32, True, (True, True, True)),  # four chunks of rows, the last one partial
        (777, 64, 32, False, (True, True, True)),  # no SELU: the bias gradient from grad itself
        (300, 9, 32, True, (False, True, True)),  # Cin not a multiple of the vector: dWᵀ = xᵀ·g
        (513, 48, 20, True, (True, True, False)),  # Cout not a multiple: dW = gᵀ·x, tails of vectors
        (1, 16, 16, False, (False, True, False)),
    ],
)
def test_the_fused_pointwise_backward_matches_float64_autograd(rows, cin, cout, selu, needs):
    torch.manual_seed(0)
    x = torch.randn(rows, cin, dtype=torch.float64, requires_grad=True)
    w = torch.randn(cout, cin, dtype=torch.float64, requires_grad=True)
    b = torch.randn(cout, dtype=torch.float64, requires_grad=True)
    y = x @ w.t() + b
    y = F.selu(y) if selu else y
    g = torch.randn(rows, cout, dtype=torch.float64)
    y.backward(g)
    got = native.kernels().pointwise_backward(
        g.float(), y.detach().float() if selu else None, x.detach().float(), w.detach().float(), *needs
    )
    for value, want, needed in zip(got, (x.grad, w.grad, b.grad), needs, strict=True):
        if not needed:
            assert value is None
            continue
        assert value.shape == want.shape and value.dtype == torch.float32
        torch.testing.assert_close(value.double(), want, rtol=1e-5, atol=1e-4 * float(want.abs().max()))


def test_the_fused_pointwise_backward_refuses_a_weight_gradient_it_cannot_block():
    ops = native.kernels()
    m = ops.backward_multiple()
    grad, x, w = torch.zeros(10, m + 1), torch.zeros(10, m - 1), torch.zeros(m + 1, m - 1)
    message = rf"needs Cin \({m - 1}\) or Cout \({m + 1}\) to be a multiple of {m}"
    with pytest.raises(RuntimeError, match=message):
        ops.pointwise_backward(grad, None, x, w, False, True, False)
    with pytest.raises(RuntimeError, match=r"weight must be a contiguous float32 \(5, 3\) matrix"):
        grad, x = torch.zeros(4, 5), torch.zeros(4, 3)
        ops.pointwise_backward(grad, None, x, torch.zeros(3, 5), True, True, True)


@pytest.mark.parametrize(("cin", "cout"), [(32, 64), (12, 32), (32, 13), (12, 13)])
def test_a_fused_conv_over_many_rows_trains_like_conv_then_selu(cin, cout):
    # 2·20·20 = 800 rows: several chunks of the fused backward, on every thread; both weight-gradient
    # orientations, and (12, 13) the unfused matrix products
    torch.manual_seed(1)
    reference = nn.Sequential(nn.Conv2d(cin, cout, 1), nn.SELU())
    fast = nn.Sequential(nn.Conv2d(cin, cout, 1), nn.SELU())
    fast.load_state_dict(reference.state_dict())
    use_fast_layers_(fast)
    x = torch.randn(2, cin, 20, 20).contiguous(memory_format=CL)
    _assert_trains_like(reference, fast, x, rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize(
    ("cin", "cout", "size", "selu", "bias"),
    [
        (32, 32, (12, 10), True, True),  # a block of the seed CNN
        (16, 48, (7, 7), True, False),  # odd sizes: floor mode drops a row and a column
        (12, 32, (6, 9), False, True),  # no SELU; Cin not a multiple of the vector: dWᵀ = xᵀ·g
        (32, 13, (4, 4), True, True),  # Cout not a multiple: dW = gᵀ·x
        (12, 13, (6, 6), True, True),  # neither: the conv runs unfused, then the pool
    ],
)
def test_conv_selu_pool_fused_matches_conv_selu_then_max_pool(cin, cout, size, selu, bias):
    torch.manual_seed(0)
    acts = [nn.SELU()] if selu else []
    reference = nn.Sequential(nn.Conv2d(cin, cout, 1, bias=bias), *acts, nn.MaxPool2d(2))
    fast = nn.Sequential(nn.Conv2d(cin, cout, 1, bias=bias), *acts, nn.MaxPool2d(2))
    fast.load_state_dict(reference.state_dict())
    use_fast_layers_(fast)
    assert isinstance(fast[-1], FusedMaxPool2d) and fast[0].fused_pool
    x = torch.randn(3, cin, *size).contiguous(memory_format=CL)
    _assert_trains_like(reference, fast, x, bias=bias, rtol=1e-4, atol=1e-4)


def test_a_fused_conv_and_pool_on_an_nchw_input_still_pools():
    net = nn.Sequential(nn.Conv2d(16, 16, 1), nn.SELU(), nn.MaxPool2d(2))
    reference = nn.Sequential(nn.Conv2d(16, 16, 1), nn.SELU(), nn.MaxPool2d(2))
    reference.load_state_dict(net.state_dict())
    use_fast_layers_(net)
    assert net[0].fused_pool
    x = torch.randn(2, 16, 6, 6)  # NCHW: nn.Conv2d's path, then SELU and the pool
    torch.testing.assert_close(net(x), reference(x), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "model",
    [
        nn.Sequential(nn.Conv2d(4, 4, 1), nn.SELU(), nn.MaxPool2d(3)),  # not 2×2
        nn.Sequential(nn.Conv2d(4, 4, 3, padding=1), nn.MaxPool2d(2)),  # not pointwise
        nn.Sequential(nn.Conv2d(4, 4, 1), nn.MaxPool2d(2, ceil_mode=True)),
    ],
)
def test_conv_pool_pairs_that_cannot_be_fused_are_left_alone(model):
    use_fast_layers_(model)
    assert not any(isinstance(m, FusedMaxPool2d) for m in model.modules())
    assert fuse_conv_pool_(model) == 0


def test_a_conv_output_used_twice_keeps_its_pool():
    class Twice(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv, self.pool = nn.Conv2d(16, 16, 1), nn.MaxPool2d(2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.conv(x)
            return self.pool(y) + y[:, :, ::2, ::2]

    net = Twice()
    use_fast_layers_(net)
    assert not net.conv.fused_pool and not isinstance(net.pool, FusedMaxPool2d)


def test_a_fused_conv_on_another_path_still_applies_its_selu():
    # an NCHW input takes nn.Conv2d's path: the SELU is applied after it, not lost
    net = nn.Sequential(nn.Conv2d(4, 6, 1), nn.SELU())
    reference = nn.Sequential(nn.Conv2d(4, 6, 1), nn.SELU())
    reference.load_state_dict(net.state_dict())
    use_fast_layers_(net)
    x = torch.randn(2, 4, 5, 5)
    assert net[0].path(x) == "conv2d" and net[0].fused_selu
    torch.testing.assert_close(net(x), reference(x), rtol=1e-6, atol=1e-6)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = net(x.contiguous(memory_format=CL))
    assert y.dtype == torch.bfloat16 and bool((y >= -1.7581).all())  # SELU's lower bound: it was applied


class _Shared(nn.Module):
    """One SELU module after two convs: fusing it into either would drop it from the other."""

    def __init__(self) -> None:
        super().__init__()
        self.a, self.b, self.act = nn.Conv2d(4, 4, 1), nn.Conv2d(4, 4, 1), nn.SELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.b(self.act(self.a(x))))


class _Residual(nn.Module):
    """The conv's output is used twice: the pre-activation value is needed, so no fusion."""

    def __init__(self) -> None:
        super().__init__()
        self.conv, self.act = nn.Conv2d(4, 4, 1), nn.SELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        return self.act(y) + y


class _Branchy(nn.Module):
    """Data-dependent control flow: does not trace, so nothing is fused (and nothing breaks)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv, self.act = nn.Conv2d(4, 4, 1), nn.SELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        return self.act(y) if y.sum() > 0 else y


@pytest.mark.parametrize(
    "model",
    [
        _Shared(),
        _Residual(),
        _Branchy(),
        nn.Sequential(nn.Conv2d(4, 4, 1), nn.SELU(inplace=True)),
        nn.Sequential(nn.Conv2d(4, 4, 1), nn.ReLU()),
    ],
)
def test_pairs_that_cannot_be_fused_are_left_alone(model):
    torch.manual_seed(0)
    x = torch.randn(2, 4, 5, 5).contiguous(memory_format=CL)
    expected = model(x.clone())
    use_fast_convs_(model)
    assert fuse_conv_selu_(model) == 0
    assert not any(isinstance(m, FusedSELU) for m in model.modules())
    assert not any(getattr(m, "fused_selu", False) for m in model.modules())
    torch.testing.assert_close(model(x.clone()), expected, rtol=1e-5, atol=1e-5)


def test_the_seed_cnn_trains_the_same_with_everything_fused():
    from convwise.models import build

    torch.manual_seed(0)
    reference = build("fashion_separable_cnn").to(memory_format=CL)
    fast = build("fashion_separable_cnn").to(memory_format=CL)
    fast.load_state_dict(reference.state_dict())
    use_fast_layers_(fast)
    assert sum(isinstance(m, FusedSELU) for m in fast.modules()) == 6
    assert any(isinstance(m, FastSELU) for m in fast.modules())  # the dense layer's SELU stays a module
    x = torch.randn(8, 1, 28, 28).contiguous(memory_format=CL)
    y = torch.randint(0, 10, (8,))
    F.cross_entropy(reference(x), y).backward()
    F.cross_entropy(fast(x), y).backward()
    for (name, p), q in zip(reference.named_parameters(), fast.parameters(), strict=True):
        torch.testing.assert_close(q.grad, p.grad, rtol=1e-4, atol=1e-5, msg=name)


def test_the_fused_kernels_refuse_a_wrong_tensor_naming_what_they_got():
    ops = native.kernels()
    with pytest.raises(RuntimeError, match=r"m must be a contiguous \(R, C\) matrix, got sizes \[4, 6\]"):
        ops.bias_selu_(torch.zeros(6, 4).t(), None)
    with pytest.raises(RuntimeError, match="bias must hold 4 values, got sizes"):
        ops.bias_selu_(torch.zeros(6, 4), torch.zeros(5))
    with pytest.raises(RuntimeError, match="x must be a 4-D channels-last tensor, got sizes"):
        ops.maxpool2x2_forward(torch.zeros(1, 3, 4, 4))
    x = torch.zeros(1, 3, 4, 4).contiguous(memory_format=CL)
    with pytest.raises(RuntimeError, match="grad must be the 2x2 pool of a 5x5 input"):
        ops.maxpool2x2_backward(
            torch.zeros(1, 3, 1, 1).contiguous(memory_format=CL), ops.maxpool2x2_forward(x)[1], 5, 5
        )
