"""Faster CPU training kernels for the convolutions where oneDNN's are slow: pointwise and few-channel convs.

On channels-last tensors a pointwise (1×1) convolution is a matrix product of the (N·H·W, Cin) rows with the
(Cout, Cin) weight, and a convolution over few input channels (the first layer of an image model: Cin·kh·kw
small) is a matrix product of its gathered taps (im2col). `FastConv2d` runs those as `torch.mm`, forward and
backward (the backward is written out: grad_input = grad·W, grad_weight = gradᵀ·rows, grad_bias = Σ grad), and
everything else as `nn.Conv2d` does. It *is* an `nn.Conv2d` with the same parameters, so state dicts,
checkpoints and every tool that knows `nn.Conv2d` are unchanged. Measured on a 2-core Xeon at batch 32
(one thread, forward + backward): the seed CNN's pointwise convs 1.6× faster than oneDNN's, its first conv
2.7× faster (docs/training.md, "Speed").
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from convwise.layers import native

#: A standard conv runs as im2col + mm when Cin·kh·kw is at most this (the gathered taps stay small).
MAX_IM2COL_DEPTH = 27


def _rows(t: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) → (N·H·W, C): a view for a channels-last tensor (a copy otherwise)."""
    return t.permute(0, 2, 3, 1).reshape(-1, t.shape[1])


def _column_sums(g: torch.Tensor) -> torch.Tensor:
    """Σ over the rows of a tall (R, C) matrix as a (1, R)·(R, C) product (faster than `sum(0)` on CPU)."""
    return torch.mm(g.new_ones(1, g.shape[0]), g).view(-1)


def _unrows(t: torch.Tensor, n: int, h: int, w: int) -> torch.Tensor:
    """(N·H·W, C) → (N, C, H, W) in channels-last memory (a view)."""
    return t.view(n, h, w, -1).permute(0, 3, 1, 2)


class _PointwiseMM(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
        n, cin, h, w = x.shape
        rows, w2 = _rows(x), weight.view(weight.shape[0], cin)
        out = torch.addmm(bias, rows, w2.t()) if bias is not None else torch.mm(rows, w2.t())
        ctx.save_for_backward(rows, w2)
        ctx.size, ctx.has_bias = (n, h, w), bias is not None
        return _unrows(out, n, h, w)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        rows, w2 = ctx.saved_tensors
        g = _rows(grad)
        gx = _unrows(torch.mm(g, w2), *ctx.size) if ctx.needs_input_grad[0] else None
        gw = torch.mm(g.t(), rows).view(*w2.shape, 1, 1) if ctx.needs_input_grad[1] else None
        gb = _column_sums(g) if ctx.has_bias and ctx.needs_input_grad[2] else None
        return gx, gw, gb


def _taps(
    x: torch.Tensor, kh: int, kw: int, pads: tuple[int, int, int, int]
) -> tuple[torch.Tensor, int, int]:
    """im2col of a channels-last input: (N·Ho·Wo, kh·kw·Cin), taps outer and channels inner; and (Ho, Wo)."""
    n, c, h, w = x.shape
    top, bottom, left, right = pads
    xh = F.pad(x.permute(0, 2, 3, 1), (0, 0, left, right, top, bottom))
    ho, wo = h + top + bottom - kh + 1, w + left + right - kw + 1
    cols = torch.stack([xh[:, i : i + ho, j : j + wo, :] for i in range(kh) for j in range(kw)], 3)
    return cols.view(n * ho * wo, kh * kw * c), ho, wo


class _Im2colMM(torch.autograd.Function):
    @staticmethod
    def forward(
        ctx: Any,
        x: torch.Tensor,
        weight: torch.Tensor,
        bias: torch.Tensor | None,
        pads: tuple[int, int, int, int],
    ) -> torch.Tensor:
        cout, cin, kh, kw = weight.shape
        cols, ho, wo = _taps(x, kh, kw, pads)
        wm = weight.permute(0, 2, 3, 1).reshape(cout, kh * kw * cin)
        out = torch.addmm(bias, cols, wm.t()) if bias is not None else torch.mm(cols, wm.t())
        ctx.save_for_backward(cols, x, weight)
        ctx.pads, ctx.has_bias, ctx.size = pads, bias is not None, (x.shape[0], ho, wo)
        return _unrows(out, *ctx.size)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        cols, x, weight = ctx.saved_tensors
        cout, cin, kh, kw = weight.shape
        g = _rows(grad)
        gx = gw = gb = None
        if ctx.needs_input_grad[0]:  # rare (the first layer's input is data): oneDNN's own backward
            top, _, left, _ = ctx.pads
            gx = torch.ops.aten.convolution_backward(
                grad, x, weight, None, [1, 1], [top, left], [1, 1], False, [0, 0], 1, [True, False, False]
            )[0]
        if ctx.needs_input_grad[1]:
            gw = torch.mm(g.t(), cols).view(cout, kh, kw, cin).permute(0, 3, 1, 2)
        if ctx.has_bias and ctx.needs_input_grad[2]:
            gb = _column_sums(g)
        return gx, gw, gb, None


class FastConv2d(nn.Conv2d):
    """`nn.Conv2d` whose pointwise and few-channel cases run as matrix products on channels-last inputs.

    Used for groups 1, stride 1, dilation 1, zero padding (symmetric), fp32, a channels-last input, and either
    a 1×1 kernel without padding, or Cin·kh·kw ≤ `MAX_IM2COL_DEPTH` with "same"-size padding. Every other
    case (and autocast to bf16) is `nn.Conv2d.forward`. Numerically the same convolution (float summation
    order aside); gradients are checked against `nn.Conv2d` by the tests.

    >>> conv = nn.Conv2d(8, 16, 1)
    >>> fast = FastConv2d.from_conv(conv)
    >>> x = torch.randn(2, 8, 5, 5).contiguous(memory_format=torch.channels_last)
    >>> fast.path(x), fast.weight is conv.weight
    ('pointwise', True)
    >>> torch.allclose(fast(x), conv(x), atol=1e-6)
    True
    """

    @staticmethod
    def from_conv(conv: nn.Conv2d) -> FastConv2d:
        """A `FastConv2d` sharing `conv`'s parameters (and hyper-parameters)."""
        fast = FastConv2d.__new__(FastConv2d)
        fast.__dict__.update(conv.__dict__)  # same Parameter objects, hooks and settings
        return fast

    def path(self, x: torch.Tensor) -> str:
        """Which kernel `forward(x)` runs: `pointwise`, `im2col` or `conv2d`."""
        if (
            self.groups != 1
            or self.stride != (1, 1)
            or self.dilation != (1, 1)
            or self.padding_mode != "zeros"
            or isinstance(self.padding, str)
            or x.dim() != 4
            or x.dtype != torch.float32
            or self.weight.dtype != torch.float32
            or torch.is_autocast_enabled("cpu")
            or not x.is_contiguous(memory_format=torch.channels_last)
        ):
            return "conv2d"
        kh, kw = self.kernel_size
        if (kh, kw) == (1, 1) and self.padding == (0, 0):
            return "pointwise"
        if self.in_channels * kh * kw <= MAX_IM2COL_DEPTH and self.padding == ((kh - 1) // 2, (kw - 1) // 2):
            return "im2col"
        return "conv2d"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        path = self.path(x)
        if path == "pointwise":
            return _PointwiseMM.apply(x, self.weight, self.bias)
        if path == "im2col":
            ph, pw = self.padding
            return _Im2colMM.apply(x, self.weight, self.bias, (ph, ph, pw, pw))
        return super().forward(x)


class _NativeSELU(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
        ops = native.kernels()
        assert ops is not None  # FastSELU.path checked it
        y = ops.selu_forward(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        (y,) = ctx.saved_tensors
        ops = native.kernels()
        assert ops is not None
        if grad.stride() != y.stride():
            grad = torch.empty_like(y).copy_(grad)  # the output's layout (contiguous or channels-last)
        return ops.selu_backward(grad, y)


class FastSELU(nn.SELU):
    """`nn.SELU` whose fp32 forward and backward run convwise's vectorised C++ loops (convwise.layers.native).

    ATen's CPU SELU (its `elu` kernel, built on an accurate `expm1`) ran 5× slower than an `exp` over the
    same tensor on the machines measured, and SELU forward + backward was a fifth of the seed CNN's
    training step; these loops use ATen's fast `exp` and run near memory speed (docs/training.md, "Speed on
    a CPU"). Used for dense fp32 CPU tensors (contiguous or channels-last) outside autocast and
    `torch.compile`'d code; every other case — and a machine where the kernels cannot be built — runs
    `F.selu`. Numerically SELU (|error| ≲ 1e-6: float rounding and the exp approximation); checked against
    `F.selu`, gradients too, by the tests.

    >>> act = FastSELU()
    >>> act.path(torch.randn(2, 3, dtype=torch.float64))
    'selu'
    """

    def path(self, x: torch.Tensor) -> str:
        """Which kernel `forward(x)` runs: `native` or `selu`."""
        if (
            self.inplace
            or x.dtype != torch.float32
            or x.device.type != "cpu"
            or not (
                x.is_contiguous() or (x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last))
            )
            or torch.is_autocast_enabled("cpu")
            or torch.compiler.is_compiling()
            or native.kernels() is None
        ):
            return "selu"
        return "native"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.path(x) == "native":
            out: torch.Tensor = _NativeSELU.apply(x)
            return out
        return F.selu(x, self.inplace)


def use_fast_convs_(model: nn.Module) -> int:
    """Replace, in place, every plain `nn.Conv2d` of `model` by a `FastConv2d` sharing its parameters.

    The state dict (names and tensors) is unchanged. Returns the number of convolutions replaced.

    >>> net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.Conv2d(4, 4, 3, padding=1, groups=4))
    >>> use_fast_convs_(net), type(net[0]).__name__, list(net.state_dict()) == ["0.weight", "0.bias",
    ...     "1.weight", "1.bias"]
    (2, 'FastConv2d', True)
    """
    count = 0
    for module in list(model.modules()):
        for name, child in list(module.named_children()):
            if type(child) is nn.Conv2d:
                setattr(module, name, FastConv2d.from_conv(child))
                count += 1
    return count


def use_fast_layers_(model: nn.Module, *, selu: bool = True) -> int:
    """`use_fast_convs_`, and (with `selu`) every plain `nn.SELU` replaced by a `FastSELU`, in place.

    The state dict is unchanged (SELU has no parameters). Returns the number of modules replaced.

    >>> net = nn.Sequential(nn.Conv2d(1, 4, 1), nn.SELU(), nn.ReLU())
    >>> use_fast_layers_(net), [type(m).__name__ for m in net]
    (2, ['FastConv2d', 'FastSELU', 'ReLU'])
    """
    count = use_fast_convs_(model)
    if selu:
        for module in list(model.modules()):
            for name, child in list(module.named_children()):
                if type(child) is nn.SELU and not child.inplace:
                    setattr(module, name, FastSELU())
                    count += 1
    return count


__all__ = [
    "MAX_IM2COL_DEPTH",
    "FastConv2d",
    "FastSELU",
    "use_fast_convs_",
    "use_fast_layers_",
]
