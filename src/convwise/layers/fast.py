"""Faster CPU training kernels where PyTorch's are slow: pointwise and few-channel convs, SELU, 2×2 max pool.

On channels-last tensors a pointwise (1×1) convolution is a matrix product of the (N·H·W, Cin) rows with the
(Cout, Cin) weight, and a convolution over few input channels (the first layer of an image model: Cin·kh·kw
small) is a matrix product of its gathered taps (im2col). `FastConv2d` runs those through convwise's
register-blocked multiply (`convwise.layers.native`, kernels/gemm.h: bias and activation in registers, the
taps gathered in cache) and a backward that makes one pass over the rows (train.cpp); without the kernels,
as `torch.mm` products written out (grad_input = grad·W, grad_weight = gradᵀ·rows, grad_bias = Σ grad).
Everything else runs as `nn.Conv2d` does. It *is* an `nn.Conv2d` with the same parameters, so state dicts,
checkpoints and every tool that knows `nn.Conv2d` are unchanged. `FastSELU` and `FastMaxPool2d` run
convwise's C++ loops; `fuse_conv_selu_` moves a SELU that follows a `FastConv2d` into the conv, and
`fuse_conv_pool_` the 2×2 max pool after a pointwise conv too (only the pooled output reaches memory).
What each buys, measured, is in docs/training.md ("Speed on a CPU")."""

from __future__ import annotations

from collections import Counter
from typing import Any, TypeVar

import torch
import torch.fx
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


def _product(
    a: torch.Tensor, wm: torch.Tensor, bias: torch.Tensor | None, selu: bool, size: tuple[int, int, int]
) -> torch.Tensor:
    """a·wmᵀ (+ bias), and with `selu` the SELU of it in one pass over the product, as an (N, Cout, H, W)
    channels-last tensor of its own (not a view: in-place ops on a custom Function's view output fail)."""
    n, h, w = size
    out = torch.empty(
        (n, wm.shape[0], h, w), dtype=a.dtype, device=a.device, memory_format=torch.channels_last
    )
    rows = _rows(out)  # (N·H·W, Cout) over out's memory
    if not selu:
        if bias is not None:
            torch.addmm(bias, a, wm.t(), out=rows)
        else:
            torch.mm(a, wm.t(), out=rows)
        return out
    ops = native.kernels()
    assert ops is not None  # FastConv2d.path checked it
    torch.mm(a, wm.t(), out=rows)
    ops.bias_selu_(rows, bias)
    return out


def _pre_activation_grad(
    ctx: Any, grad_rows: torch.Tensor, y: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The gradient at the product (through the fused SELU with output `y`, if any) and its column sums."""
    if y is None:
        return grad_rows, (_column_sums(grad_rows) if ctx.has_bias and ctx.needs_input_grad[2] else None)
    ops = native.kernels()
    assert ops is not None
    g, sums = ops.selu_backward_colsum(grad_rows.contiguous(), _rows(y))
    return g, (sums if ctx.has_bias and ctx.needs_input_grad[2] else None)


_M = TypeVar("_M", bound=nn.Module)


def _retyped(module: nn.Module, cls: type[_M]) -> _M:
    """A `cls` (a subclass of `module`'s class) sharing `module`'s parameters, buffers, hooks and settings."""
    fast = cls.__new__(cls)
    fast.__dict__.update(module.__dict__)
    return fast


def _float32_cpu(*tensors: torch.Tensor) -> bool:
    """All float32 CPU tensors, outside `torch.compile` (which cannot trace the kernels' calls)."""
    if torch.compiler.is_compiling():
        return False
    return all(t.dtype == torch.float32 and t.device.type == "cpu" for t in tensors)


def _native_product(
    x: torch.Tensor,
    wm: torch.Tensor,
    bias: torch.Tensor | None,
    selu: bool,
    kernel: tuple[int, int],
    pads: tuple[int, int, int, int],
) -> torch.Tensor | None:
    """act(conv(x) + bias) (stride 1) through convwise's matrix-multiply kernel — bias and SELU in
    registers, the taps gathered band by band in cache — for `wm` the (Cout, kh·kw·Cin) weight in
    (kh, kw, Cin) order and `pads` (top, bottom, left, right); None where the kernels are not built (or
    for other than float32 CPU tensors: float64 gradchecks run the matrix products)."""
    if not _float32_cpu(x, wm) or (ops := native.kernels()) is None:
        return None
    cout, (kh, kw) = wm.shape[0], kernel
    top, bottom, left, right = pads
    act = native.ACT_SELU if selu else native.ACT_NONE
    packed, padded = ops.pack_weight(wm.contiguous()), ops.pad_bias(bias, cout)
    out: torch.Tensor = ops.conv_forward(
        x, packed, padded, cout, kh, kw, [1, 1], [top, left, bottom, right], [1, 1], act
    )
    return out


def _native_backward(
    ctx: Any,
    grad: torch.Tensor,
    y: torch.Tensor | None,
    rows: torch.Tensor,
    wm: torch.Tensor,
    input_grad: bool,
) -> tuple[torch.Tensor | None, torch.Tensor | None, torch.Tensor | None] | None:
    """(grad at `rows`, weight grad (Cout, K), bias grad) of y = act(rows·wmᵀ + b) in one pass over the rows
    (convwise's kernel: the pre-activation gradient stays in cache); None where it does not apply."""
    if not _float32_cpu(grad, rows, wm) or (ops := native.kernels()) is None:
        return None
    if rows.shape[1] % ops.backward_multiple() and wm.shape[0] % ops.backward_multiple():
        return None
    need = ctx.needs_input_grad
    g = _rows(grad).contiguous()
    gx, gw, gb = ops.pointwise_backward(
        g,
        None if y is None else _rows(y),
        rows,
        wm.contiguous(),
        input_grad,
        need[1],
        ctx.has_bias and need[2],
    )
    return gx, gw, gb


class _PointwiseMM(torch.autograd.Function):
    @staticmethod
    def forward(
        ctx: Any, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, selu: bool = False
    ) -> torch.Tensor:
        n, cin, h, w = x.shape
        rows, w2 = _rows(x), weight.view(weight.shape[0], cin)
        out = _native_product(x, w2, bias, selu, (1, 1), (0, 0, 0, 0))
        if out is None:
            out = _product(rows, w2, bias, selu, (n, h, w))
        ctx.save_for_backward(rows, w2, out if selu else None)
        ctx.size, ctx.has_bias = (n, h, w), bias is not None
        return out

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        rows, w2, y = ctx.saved_tensors
        fused = _native_backward(ctx, grad, y, rows, w2, ctx.needs_input_grad[0])
        if fused is not None:
            gx_rows, gw, gb = fused
            gx = _unrows(gx_rows, *ctx.size) if gx_rows is not None else None
            return gx, (gw.view(*w2.shape, 1, 1) if gw is not None else None), gb, None
        g, gb = _pre_activation_grad(ctx, _rows(grad), y)
        gx = _unrows(torch.mm(g, w2), *ctx.size) if ctx.needs_input_grad[0] else None
        gw = torch.mm(g.t(), rows).view(*w2.shape, 1, 1) if ctx.needs_input_grad[1] else None
        return gx, gw, gb, None


class _PointwisePoolMM(torch.autograd.Function):
    """maxpool2x2(act(conv1x1(x) + b)) in one kernel: only the pooled output and the winners reach memory."""

    @staticmethod
    def forward(
        ctx: Any, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, selu: bool
    ) -> torch.Tensor:
        ops = native.kernels()
        assert ops is not None  # FastConv2d.forward checked it
        w2 = weight.view(weight.shape[0], weight.shape[1])
        act = native.ACT_SELU if selu else native.ACT_NONE
        out, code = ops.pointwise_pool_forward(x, ops.pack_weight(w2), bias, w2.shape[0], act)
        ctx.save_for_backward(x, w2, out if selu else None, code)
        ctx.has_bias = bias is not None
        return out  # type: ignore[no-any-return]

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        x, w2, y, code = ctx.saved_tensors
        ops = native.kernels()
        assert ops is not None
        need = ctx.needs_input_grad
        grad = grad.contiguous(memory_format=torch.channels_last)
        gx, gw, gb = ops.pointwise_pool_backward(
            grad, y, code, x, w2.contiguous(), need[0], need[1], ctx.has_bias and need[2]
        )
        return gx, (gw.view(*w2.shape, 1, 1) if gw is not None else None), gb, None


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
        selu: bool = False,
    ) -> torch.Tensor:
        cout, cin, kh, kw = weight.shape
        wm = weight.permute(0, 2, 3, 1).reshape(cout, kh * kw * cin)
        out = _native_product(x, wm, bias, selu, (kh, kw), pads)
        cols = None
        if out is None:
            cols, ho, wo = _taps(x, kh, kw, pads)
            out = _product(cols, wm, bias, selu, (x.shape[0], ho, wo))
        # the kernels gather the taps band by band in cache; the backward gathers them again (cheaper
        # than keeping a 9×-input-sized tensor alive from forward to backward)
        ctx.cols = cols
        ctx.save_for_backward(x, weight, out if selu else None)
        ctx.pads, ctx.has_bias, ctx.size = pads, bias is not None, (x.shape[0], out.shape[2], out.shape[3])
        return out

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        x, weight, y = ctx.saved_tensors
        cout, cin, kh, kw = weight.shape
        cols = ctx.cols if ctx.cols is not None else _taps(x, kh, kw, ctx.pads)[0]
        ctx.cols = None
        wm = weight.permute(0, 2, 3, 1).reshape(cout, kh * kw * cin)
        fused = None if ctx.needs_input_grad[0] else _native_backward(ctx, grad, y, cols, wm, False)
        if fused is not None:
            _, gwm, gb = fused
            gw = gwm.reshape(cout, kh, kw, cin).permute(0, 3, 1, 2) if gwm is not None else None
            return None, gw, gb, None, None
        g, gb = _pre_activation_grad(ctx, _rows(grad), y)
        gx = gw = None
        if ctx.needs_input_grad[0]:  # rare (the first layer's input is data): oneDNN's own backward
            top, _, left, _ = ctx.pads
            gpre = grad if y is None else _unrows(g, *ctx.size)
            gx = torch.ops.aten.convolution_backward(
                gpre, x, weight, None, [1, 1], [top, left], [1, 1], False, [0, 0], 1, [True, False, False]
            )[0]
        if ctx.needs_input_grad[1]:
            # (taps, R)·(R, Cout) and then transposed: the same sums, but MKL runs this orientation 2-4.5×
            # faster than gᵀ·cols (Cout × R times R × taps) for a long R and few taps (measured on an EPYC)
            gw = torch.mm(cols.t(), g).t().reshape(cout, kh, kw, cin).permute(0, 3, 1, 2)
        return gx, gw, gb, None, None


class FastConv2d(nn.Conv2d):
    """`nn.Conv2d` whose pointwise and few-channel cases run as matrix products on channels-last inputs
    (convwise's kernel where it is built, `torch.mm` otherwise).

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

    #: True when the SELU after this conv runs inside it (set by `fuse_conv_selu_`).
    fused_selu: bool = False
    #: True when the 2×2 max pool after this conv (and its SELU) runs inside it (set by `fuse_conv_pool_`).
    fused_pool: bool = False

    @staticmethod
    def from_conv(conv: nn.Conv2d) -> FastConv2d:
        """A `FastConv2d` sharing `conv`'s parameters (and hyper-parameters)."""
        return _retyped(conv, FastConv2d)

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
        # the fused SELU / pool in the product's pass need the C++ kernels (and eager mode)
        kernels = not torch.compiler.is_compiling() and native.kernels() is not None
        fused = self.fused_selu and kernels
        if self.fused_pool and path == "pointwise" and kernels and self._poolable(x):
            pooled: torch.Tensor = _PointwisePoolMM.apply(x, self.weight, self.bias, self.fused_selu)
            return pooled
        if path == "pointwise":
            out: torch.Tensor = _PointwiseMM.apply(x, self.weight, self.bias, fused)
        elif path == "im2col":
            ph, pw = self.padding
            out = _Im2colMM.apply(x, self.weight, self.bias, (ph, ph, pw, pw), fused)
        else:
            out, fused = super().forward(x), False
        out = F.selu(out) if self.fused_selu and not fused else out
        return _POOL(out) if self.fused_pool else out

    def _poolable(self, x: torch.Tensor) -> bool:
        """Whether the fused conv + pool kernel takes `x` (≥ 2×2; a weight gradient it can block)."""
        ops = native.kernels()
        multiple = ops.backward_multiple() if ops is not None else 1
        return (
            min(x.shape[2], x.shape[3]) >= 2
            and (self.in_channels % multiple == 0 or self.out_channels % multiple == 0)
            and x.device.type == "cpu"
        )


class _ComputedBy(nn.Identity):
    """An identity left where a module was whose work the module named `into` now does."""

    def __init__(self, into: str) -> None:
        super().__init__()
        self.into = into

    def extra_repr(self) -> str:
        return f"computed by {self.into}"


class FusedSELU(_ComputedBy):
    """Where an `nn.SELU` was: its work is done by the `FastConv2d` before it (`fuse_conv_selu_`)."""


class FusedMaxPool2d(_ComputedBy):
    """Where a 2×2 `nn.MaxPool2d` was: its work is done by the `FastConv2d` before it (`fuse_conv_pool_`)."""


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


class _NativeMaxPool2x2(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
        ops = native.kernels()
        assert ops is not None  # FastMaxPool2d.path checked it
        out, code = ops.maxpool2x2_forward(x)
        ctx.save_for_backward(code)
        ctx.size = x.shape[2], x.shape[3]
        return out  # type: ignore[no-any-return]

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        (code,) = ctx.saved_tensors
        ops = native.kernels()
        assert ops is not None
        return ops.maxpool2x2_backward(grad.contiguous(memory_format=torch.channels_last), code, *ctx.size)  # type: ignore[no-any-return]


class FastMaxPool2d(nn.MaxPool2d):
    """`nn.MaxPool2d` whose 2×2 / stride-2 case on channels-last fp32 runs convwise's C++ loops.

    ATen's max pool keeps an int64 index per output element and its backward zero-fills the whole input
    gradient before scattering into it; these loops keep one byte per output element (which tap won) and
    write each input-gradient element once. The same function as ATen's: the first maximum of a window in
    row-major order, NaN propagating, floor mode for odd sizes (checked against `F.max_pool2d`, gradients
    too, by the tests). Every other configuration — and a machine where the kernels cannot be built — is
    `nn.MaxPool2d.forward`.

    >>> pool = FastMaxPool2d(2)
    >>> pool.path(torch.randn(1, 3, 4, 4, dtype=torch.float64))
    'max_pool2d'
    """

    def path(self, x: torch.Tensor) -> str:
        """Which kernel `forward(x)` runs: `native` or `max_pool2d`."""
        if (
            not _is_2x2(self)
            or x.dim() != 4
            or x.dtype != torch.float32
            or x.device.type != "cpu"
            or min(x.shape[2], x.shape[3]) < 2
            or not x.is_contiguous(memory_format=torch.channels_last)
            or torch.is_autocast_enabled("cpu")
            or torch.compiler.is_compiling()
            or native.kernels() is None
        ):
            return "max_pool2d"
        return "native"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.path(x) == "native":
            out: torch.Tensor = _NativeMaxPool2x2.apply(x)
            return out
        return super().forward(x)


#: The pool a fused conv + pool applies where the fused kernel does not take the input.
_POOL = FastMaxPool2d(2)


class _FastLeaves(torch.fx.Tracer):
    """An fx tracer that keeps convwise's fast layers (and PyTorch's own modules) as single calls."""

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        fast = (FastConv2d, FastSELU, FastMaxPool2d, FusedSELU, FusedMaxPool2d)
        return isinstance(m, fast) or super().is_leaf_module(m, module_qualified_name)


def fuse_conv_selu_(model: nn.Module) -> int:
    """Fuse each `FastConv2d` → `nn.SELU` pair of `model`'s forward into the conv, in place.

    The pairs come from a `torch.fx` trace of what the forward runs: a SELU module (not in-place) called
    once, on the output of a `FastConv2d` called once and used by nothing else. The conv then adds its bias
    and applies SELU in one pass over its matrix product's output (and in the backward, the SELU gradient
    and the bias gradient in one pass); the SELU module becomes a `FusedSELU` (an identity). Parameters and
    state dict are unchanged. A model that does not trace is left as it is. Returns the number fused.

    >>> net = nn.Sequential(nn.Conv2d(1, 4, 1), nn.SELU(), nn.Conv2d(4, 4, 1), nn.ReLU())
    >>> _ = use_fast_convs_(net)
    >>> fuse_conv_selu_(net), [type(m).__name__ for m in net], net[0].fused_selu, net[2].fused_selu
    (1, ['FastConv2d', 'FusedSELU', 'FastConv2d', 'ReLU'], True, False)
    """
    try:
        graph = _FastLeaves().trace(model)
    except Exception:  # data-dependent control flow, unsupported calls ...: no fusion
        return 0
    calls = Counter(node.target for node in graph.nodes if node.op == "call_module")
    fused = 0
    for node in graph.nodes:
        if node.op != "call_module" or len(node.args) != 1 or node.kwargs or calls[node.target] != 1:
            continue
        act = model.get_submodule(str(node.target))
        source = node.args[0]
        if not isinstance(act, nn.SELU) or act.inplace or not isinstance(source, torch.fx.Node):
            continue
        if source.op != "call_module" or len(source.users) != 1 or calls[source.target] != 1:
            continue
        conv = model.get_submodule(str(source.target))
        if type(conv) is not FastConv2d or conv.fused_selu:
            continue
        conv.fused_selu = True
        parent, _, name = str(node.target).rpartition(".")
        setattr(model.get_submodule(parent), name, FusedSELU(str(source.target)))
        fused += 1
    return fused


def fuse_conv_pool_(model: nn.Module) -> int:
    """Fuse each pointwise `FastConv2d` (with its fused SELU, if any) → 2×2 `FastMaxPool2d` pair, in place.

    Found like `fuse_conv_selu_`'s pairs (a `torch.fx` trace; each module called once, the conv's output —
    or its `FusedSELU`'s — used by the pool only). The conv then computes two image rows of its product at
    a time into a buffer in cache and pools them, so its full-size output never reaches memory, and its
    backward takes the pooled gradient directly (docs/training.md, "Speed on a CPU"); the pool module
    becomes a `FusedMaxPool2d` (an identity). Parameters and state dict are unchanged. Returns the number
    fused.

    >>> net = nn.Sequential(nn.Conv2d(4, 16, 1), nn.SELU(), nn.MaxPool2d(2))
    >>> net.extend([nn.Conv2d(16, 4, 1), nn.MaxPool2d(3)])  # doctest: +ELLIPSIS
    Sequential(...)
    >>> _ = use_fast_layers_(net)
    >>> [type(m).__name__ for m in net], net[0].fused_pool, net[3].fused_pool
    (['FastConv2d', 'FusedSELU', 'FusedMaxPool2d', 'FastConv2d', 'FastMaxPool2d'], True, False)
    """
    try:
        graph = _FastLeaves().trace(model)
    except Exception:  # data-dependent control flow, unsupported calls ...: no fusion
        return 0
    calls = Counter(node.target for node in graph.nodes if node.op == "call_module")

    def module(node: Any) -> nn.Module | None:
        if not isinstance(node, torch.fx.Node) or node.op != "call_module" or calls[node.target] != 1:
            return None
        return model.get_submodule(str(node.target))

    fused = 0
    for node in graph.nodes:
        pool = module(node)
        if type(pool) is not FastMaxPool2d or len(node.args) != 1 or node.kwargs or not _is_2x2(pool):
            continue
        source = node.args[0]
        if isinstance(module(source), FusedSELU) and len(source.users) == 1:  # type: ignore[union-attr]
            source = source.args[0]  # type: ignore[union-attr]
        conv = module(source)
        if type(conv) is not FastConv2d or conv.fused_pool or len(source.users) != 1:  # type: ignore[union-attr]
            continue
        pointwise = conv.kernel_size == (1, 1) and conv.stride == (1, 1) and conv.dilation == (1, 1)
        if not pointwise or conv.padding != (0, 0) or conv.groups != 1 or conv.padding_mode != "zeros":
            continue
        conv.fused_pool = True
        parent, _, name = str(node.target).rpartition(".")
        setattr(model.get_submodule(parent), name, FusedMaxPool2d(str(source.target)))  # type: ignore[union-attr]
        fused += 1
    return fused


def _is_2x2(pool: nn.MaxPool2d) -> bool:
    """A 2×2 / stride-2 max pool without padding, dilation, ceil mode or indices."""
    pair = nn.modules.utils._pair
    stride = pool.stride if pool.stride is not None else pool.kernel_size
    return (
        pair(pool.kernel_size) == (2, 2)
        and pair(stride) == (2, 2)
        and pair(pool.padding) == (0, 0)
        and pair(pool.dilation) == (1, 1)
        and not pool.ceil_mode
        and not pool.return_indices
    )


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
    """`use_fast_convs_`, and every plain `nn.MaxPool2d` and (with `selu`) `nn.SELU` replaced by
    `FastMaxPool2d` / `FastSELU`, in place; with `selu`, then `fuse_conv_selu_` and `fuse_conv_pool_`.

    The state dict is unchanged (none of these has parameters). Returns the number of modules replaced.

    >>> net = nn.Sequential(nn.Conv2d(1, 4, 1), nn.SELU(), nn.MaxPool2d(2), nn.ReLU())
    >>> use_fast_layers_(net), [type(m).__name__ for m in net]
    (3, ['FastConv2d', 'FusedSELU', 'FusedMaxPool2d', 'ReLU'])
    """
    count = use_fast_convs_(model)
    for module in list(model.modules()):
        for name, child in list(module.named_children()):
            if selu and type(child) is nn.SELU and not child.inplace:
                setattr(module, name, FastSELU())
                count += 1
            elif type(child) is nn.MaxPool2d:
                setattr(module, name, _retyped(child, FastMaxPool2d))
                count += 1
    if selu:
        fuse_conv_selu_(model)
        fuse_conv_pool_(model)
    return count


__all__ = [
    "MAX_IM2COL_DEPTH",
    "FastConv2d",
    "FastMaxPool2d",
    "FastSELU",
    "FusedMaxPool2d",
    "FusedSELU",
    "fuse_conv_pool_",
    "fuse_conv_selu_",
    "use_fast_convs_",
    "use_fast_layers_",
]
