"""convwise's C++ inference convs (kernels/infer.cpp) and `deploy.native`, checked against PyTorch's own
convolutions: every kernel path (1×1 direct, im2col k×k, depthwise fast 3×3 and generic, the fused
separable block), channel counts that are not whole vectors or panels, asymmetric padding, strides,
dilation, batch > 1, and the module rewrite on real models (fallbacks and refusals included)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from bn_nets import randomize_bn
from convwise import deploy
from convwise.deploy.native import NativeConv2d, NativeSeparable, use_native_kernels
from convwise.layers import native
from convwise.models import registry

CL = torch.channels_last
ACTS = {0: lambda t: t, 1: F.relu, 2: lambda t: F.hardtanh(t, 0.0, 6.0), 3: F.selu}


@pytest.fixture(autouse=True)
def _kernels() -> None:
    reason = native.why_unavailable()
    if reason is not None:
        pytest.skip(f"convwise's C++ kernels cannot be built here: {reason}")


def _x(n: int, c: int, h: int, w: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, c, h, w, generator=g).contiguous(memory_format=CL)


def _reference(x, weight, bias, stride, pads, dilation, groups, act):  # type: ignore[no-untyped-def]
    top, left, bottom, right = pads
    y = F.conv2d(F.pad(x, (left, right, top, bottom)), weight, bias, stride, 0, dilation, groups)
    return ACTS[act](y)


@pytest.mark.parametrize(
    ("cin", "cout", "k", "stride", "pads", "dilation", "act"),
    [
        (32, 64, (1, 1), (1, 1), (0, 0, 0, 0), (1, 1), 2),  # 1×1: one multiply over all pixels
        (37, 45, (1, 1), (1, 1), (0, 0, 0, 0), (1, 1), 1),  # neither a whole vector nor a whole panel
        (600, 70, (1, 1), (1, 1), (0, 0, 0, 0), (1, 1), 0),  # K in several slices, partial sums in C
        (3, 32, (3, 3), (2, 2), (0, 0, 1, 1), (1, 1), 2),  # MobileNet's first conv, TF-"same" at stride 2
        (5, 9, (3, 2), (1, 2), (2, 0, 1, 3), (2, 1), 1),  # non-square, asymmetric, dilated
        (8, 16, (1, 1), (2, 2), (0, 0, 0, 0), (1, 1), 0),  # strided 1×1: the im2col path
        (1, 32, (3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 3),  # the seed CNN's first conv with its SELU
        (40, 24, (1, 1), (1, 1), (0, 0, 0, 0), (1, 1), 3),  # SELU on partial vectors
    ],
)
def test_conv_matches_pytorch(cin, cout, k, stride, pads, dilation, act) -> None:  # type: ignore[no-untyped-def]
    ops = native.kernels()
    x = _x(2, cin, 11, 13)
    g = torch.Generator().manual_seed(1)
    weight = torch.randn(cout, cin, *k, generator=g) / (cin * k[0] * k[1]) ** 0.5
    bias = torch.randn(cout, generator=g)
    packed = ops.pack_weight(weight.permute(0, 2, 3, 1).reshape(cout, -1))
    got = ops.conv_forward(x, packed, bias, cout, k[0], k[1], list(stride), list(pads), list(dilation), act)
    want = _reference(x, weight, bias, stride, pads, dilation, 1, act)
    assert got.shape == want.shape and got.is_contiguous(memory_format=CL)
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(
    ("c", "k", "stride", "pads", "dilation", "act"),
    [
        (32, (3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 2),  # the fast 3×3 path
        (20, (3, 3), (2, 2), (0, 0, 1, 1), (1, 1), 1),  # a partial vector of channels, TF "same" stride 2
        (48, (3, 3), (1, 1), (2, 2, 2, 2), (2, 2), 0),  # dilated 3×3
        (24, (5, 5), (2, 1), (2, 1, 2, 3), (1, 1), 2),  # the generic path
        (20, (3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 3),  # SELU
    ],
)
def test_depthwise_matches_pytorch(c, k, stride, pads, dilation, act) -> None:  # type: ignore[no-untyped-def]
    ops = native.kernels()
    x = _x(2, c, 17, 15)
    g = torch.Generator().manual_seed(2)
    weight = torch.randn(c, 1, *k, generator=g)
    bias = torch.randn(c, generator=g)
    got = ops.depthwise_forward(
        x, weight[:, 0].permute(1, 2, 0).contiguous(), bias, list(stride), list(pads), list(dilation), act
    )
    torch.testing.assert_close(
        got, _reference(x, weight, bias, stride, pads, dilation, c, act), rtol=1e-4, atol=1e-5
    )


@pytest.mark.parametrize(
    ("c", "cout", "stride", "pads"), [(32, 64, 1, (1, 1, 1, 1)), (40, 70, 2, (0, 0, 1, 1))]
)
def test_separable_block_matches_the_two_convs(c: int, cout: int, stride: int, pads: tuple[int, ...]) -> None:
    ops = native.kernels()
    x = _x(3, c, 19, 16)
    g = torch.Generator().manual_seed(3)
    dw, db = torch.randn(c, 1, 3, 3, generator=g), torch.randn(c, generator=g)
    pw, pb = torch.randn(cout, c, 1, 1, generator=g) / c**0.5, torch.randn(cout, generator=g)
    got = ops.separable_forward(
        x, dw[:, 0].permute(1, 2, 0).contiguous(), db, [stride] * 2, list(pads), [1, 1], 2,
        ops.pack_weight(pw.reshape(cout, c)), pb, cout, 1,
    )  # fmt: skip
    mid = _reference(x, dw, db, (stride, stride), pads, (1, 1), c, 2)
    torch.testing.assert_close(got, F.relu(F.conv2d(mid, pw, pb)), rtol=1e-4, atol=1e-5)


def test_kernels_refuse_what_they_do_not_take() -> None:
    ops = native.kernels()
    packed = ops.pack_weight(torch.randn(8, 4))
    with pytest.raises(RuntimeError, match="channels-last"):
        ops.conv_forward(
            torch.randn(1, 4, 5, 5)[:, :, ::2], packed, None, 8, 1, 1, [1, 1], [0] * 4, [1, 1], 0
        )
    with pytest.raises(RuntimeError, match="does not match K = 36"):
        ops.conv_forward(_x(1, 4, 5, 5), packed, None, 8, 3, 3, [1, 1], [0] * 4, [1, 1], 0)
    with pytest.raises(RuntimeError, match="float32"):
        ops.depthwise_forward(_x(1, 4, 5, 5).double(), torch.randn(3, 3, 4), None, [1, 1], [1] * 4, [1, 1], 0)


class _Block(nn.Module):
    """depthwise → ReLU6 → 1×1 → ReLU, and optionally the depthwise output used a second time."""

    def __init__(self, reuse: bool = False) -> None:
        super().__init__()
        self.dw = nn.Conv2d(16, 16, 3, padding=1, groups=16)
        self.act1 = nn.ReLU6()
        self.pw = nn.Conv2d(16, 24, 1)
        self.act2 = nn.ReLU()
        self.reuse = reuse

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mid = self.act1(self.dw(x))
        out = self.act2(self.pw(mid))
        return out + mid.mean() if self.reuse else out


def test_rewrite_fuses_the_separable_pair_and_matches() -> None:
    net = _Block().eval()
    x = _x(2, 16, 12, 12)
    want = net(x)
    done = use_native_kernels(net, x)
    assert done == {"dw": "act1", "pw": "act2"}
    assert isinstance(net.dw, NativeSeparable)
    assert all(isinstance(m, nn.Identity) for m in (net.act1, net.pw, net.act2))
    torch.testing.assert_close(net(x), want, rtol=1e-4, atol=1e-5)


def test_a_depthwise_output_used_elsewhere_is_not_fused_away() -> None:
    net = _Block(reuse=True).eval()
    x = _x(1, 16, 12, 12)
    want = net(x)
    use_native_kernels(net, x)
    assert isinstance(net.dw, NativeConv2d) and isinstance(net.pw, NativeConv2d)
    # the pair is not fused (the 1×1 conv would overwrite what `mid.mean()` reads); the ReLU6 still is
    torch.testing.assert_close(net(x), want, rtol=1e-4, atol=1e-5)


def test_mobilenet_native_path_matches_and_falls_back_for_other_sizes() -> None:
    model = randomize_bn(registry.build("mobilenet_v1", width_multiplier=0.25, resolution=96))
    x = torch.randn(2, 3, 96, 96)
    fast = deploy.optimize(model, example=x[:1], native=True)
    assert fast.native
    kinds = [type(m) for m in fast.model.modules()]
    assert kinds.count(NativeSeparable) == 13 and kinds.count(NativeConv2d) == 1 + 2 * 13
    want = model(x)
    assert want.std() > 100 * deploy.ATOL  # the comparison can tell a wrong conv from a right one
    torch.testing.assert_close(fast(x), want, rtol=deploy.RTOL, atol=deploy.ATOL)
    # TF "same" pads were resolved for 96×96: another size runs the original convs, still right
    other = torch.randn(1, 3, 80, 80)
    torch.testing.assert_close(fast(other), model(other), rtol=deploy.RTOL, atol=deploy.ATOL)
    assert set(fast.removed.values()) == {"folded", "fused"}
    assert sum(v == "fused" for v in fast.removed.values()) == 27  # every ReLU went into a kernel


def test_the_seed_cnn_runs_its_selus_inside_the_kernels() -> None:
    model = registry.build("fashion_separable_cnn").eval()
    x = torch.randn(3, 1, 28, 28)
    fast = deploy.optimize(model, example=x[:1], native=True)
    kinds = [type(m) for m in fast.model.modules()]
    assert kinds.count(NativeSeparable) == 5 and kinds.count(NativeConv2d) == 1 + 2 * 5
    # the first conv's SELU and the five after the pointwise convs; the dense layer's SELU stays
    assert sum(v == "fused" for v in fast.removed.values()) == 6
    assert sum(type(m) is nn.SELU for m in fast.model.modules()) == 1
    want = model(x)
    assert want.std() > 100 * deploy.ATOL
    torch.testing.assert_close(fast(x), want, rtol=deploy.RTOL, atol=deploy.ATOL)
