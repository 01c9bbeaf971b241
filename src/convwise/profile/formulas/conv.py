"""Formulas of convolutions (``aten.convolution``, the ``F.conv*`` calls, convwise's layers) and F.fold.

2-D convolutions are costed by `convwise.core.stage_cost` (the one source of truth); 1-D / 3-D by the
same formulas written per spatial axis (``N·Cout·ΠOut·(Cin/g)·Πk`` multiplications, one accumulation
fewer per output, one bias addition per output); transposed convolutions: every input element times
every tap of its group's filters, with the additions counted exactly per output position. The padding
each side of every axis is kept, so ``mults_excluding_padding`` never takes padding zeros for pixels —
also for torch's ``padding='same'`` with an even kernel, which pads more on one side.
"""

from __future__ import annotations

import math
from typing import Any

from convwise.core import Conv2dSpec, parse_padding, stage_cost, valid_taps
from convwise.profile.formulas.table import OpCost, bind, numel, shape_of
from convwise.profile.tensors import first_tensor

Pads = list[tuple[int, int]]


def _covered_taps(size: int, out: int, kernel: int, stride: int, dilation: int, pad: int) -> tuple[int, int]:
    """Scatter along one axis: (input·tap pairs landing in the output, output positions reached)."""
    landing = 0
    reached: set[int] = set()
    for t in range(kernel):
        for i in range(size):
            o = i * stride - pad + t * dilation
            if 0 <= o < out:
                landing += 1
                reached.add(o)
    return landing, len(reached)


def _ints(value: Any, n: int) -> list[int]:
    if isinstance(value, int):
        return [value] * n
    values = [int(v) for v in value]
    return values * n if len(values) == 1 else values


def conv_cost(
    x: Any,
    w: Any,
    out: Any,
    *,
    bias: bool,
    stride: list[int],
    pads: Pads,
    dilation: list[int],
    groups: int,
    transposed: bool = False,
) -> OpCost:
    """The cost of one convolution from its tensors and per-axis (before, after) padding."""
    xs, ws, os_ = shape_of(x), shape_of(w), shape_of(first_tensor(out))
    if len(xs) == len(ws) - 1:  # unbatched input
        xs, os_ = (1, *xs), (1, *os_)
    n, cin, in_sp = xs[0], xs[1], xs[2:]
    k, out_sp = ws[2:], os_[2:]
    if transposed:
        cout = os_[1]
        mults = n * cin * math.prod(in_sp) * ws[1] * math.prod(k)
        landing, reached = 1, 1
        for size, o, kk, s, d, (p, _) in zip(in_sp, out_sp, k, stride, dilation, pads, strict=False):
            a, r = _covered_taps(size, o, kk, s, d, p)
            landing *= a
            reached *= r
        cin_g = cin // groups
        acc = n * cout * (cin_g * landing - reached)
        bias_adds = n * cout * math.prod(out_sp) if bias else 0
        return OpCost(mults, acc, bias_adds, mults_excluding_padding=n * cout * cin_g * landing)
    cout = ws[0]
    if len(k) == 2:
        (top, bottom), (left, right) = pads
        spec = Conv2dSpec(
            cin,
            cout,
            (k[0], k[1]),
            (stride[0], stride[1]),
            parse_padding((top, bottom, left, right)),
            (dilation[0], dilation[1]),
            groups,
            bias,
        )
        counts = stage_cost(spec, (in_sp[0], in_sp[1])).counts.scaled(n)
        return OpCost(
            counts.mults,
            counts.acc_adds,
            counts.bias_adds,
            mults_excluding_padding=counts.mults_excluding_padding,
        )
    cpg = cin // groups
    taps = cpg * math.prod(k)
    positions = n * cout * math.prod(out_sp)
    inside = n * cout * cpg
    for size, o, kk, s, d, (before, _) in zip(in_sp, out_sp, k, stride, dilation, pads, strict=True):
        inside *= valid_taps(size, o, kk, s, d, before)
    return OpCost(
        positions * taps, positions * (taps - 1), positions if bias else 0, mults_excluding_padding=inside
    )


def conv_formula(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> OpCost:
    """aten.convolution(input, weight, bias, stride, padding, dilation, transposed, out_padding, groups)."""
    x, w, b, stride, padding, dilation, transposed, _out_pad, groups = args[:9]
    nd = w.dim() - 2
    pads = [(p, p) for p in _ints(padding, nd)]
    return conv_cost(
        x,
        w,
        out,
        bias=b is not None,
        stride=_ints(stride, nd),
        pads=pads,
        dilation=_ints(dilation, nd),
        groups=int(groups),
        transposed=bool(transposed),
    )


_CONV_ARGS = ("input", "weight", "bias", "stride", "padding", "dilation", "groups")
_CONV_DEFAULTS = {"bias": None, "stride": 1, "padding": 0, "dilation": 1, "groups": 1}


def torch_padding(padding: Any, kernel: list[int], dilation: list[int]) -> Pads:
    """(before, after) per axis of F.conv*'s `padding`: ints, 'valid', or 'same' (the extra pixel after)."""
    if isinstance(padding, str):
        if padding == "valid":
            return [(0, 0)] * len(kernel)
        totals = [d * (k - 1) for k, d in zip(kernel, dilation, strict=True)]
        return [(t // 2, t - t // 2) for t in totals]
    return [(p, p) for p in _ints(padding, len(kernel))]


def conv_call_formula(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> OpCost:
    """F.conv1d / conv2d / conv3d(input, weight, bias, stride, padding, dilation, groups)."""
    a = bind(_CONV_ARGS, _CONV_DEFAULTS, args, kwargs)
    w = a["weight"]
    nd = w.dim() - 2
    dilation = _ints(a["dilation"], nd)
    pads = torch_padding(a["padding"], [int(v) for v in w.shape[2:]], dilation)
    return conv_cost(
        a["input"],
        w,
        out,
        bias=a["bias"] is not None,
        stride=_ints(a["stride"], nd),
        pads=pads,
        dilation=dilation,
        groups=int(a["groups"]),
    )


_CONVT_ARGS = ("input", "weight", "bias", "stride", "padding", "output_padding", "groups", "dilation")


def conv_transpose_call_formula(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> OpCost:
    """F.conv_transpose1d/2d/3d(input, weight, bias, stride, padding, output_padding, groups, dilation)."""
    a = bind(_CONVT_ARGS, {**_CONV_DEFAULTS, "output_padding": 0}, args, kwargs)
    w = a["weight"]
    nd = w.dim() - 2
    return conv_cost(
        a["input"],
        w,
        out,
        bias=a["bias"] is not None,
        stride=_ints(a["stride"], nd),
        pads=[(p, p) for p in _ints(a["padding"], nd)],
        dilation=_ints(a["dilation"], nd),
        groups=int(a["groups"]),
        transposed=True,
    )


def spec_conv_formula(module: Any, args: tuple[Any, ...], out: Any) -> OpCost:
    """A convwise `SpecConv2d` call: `convwise.core.stage_cost` of its spec on the input it received.

    Costing the module (not its inner `F.pad` + `conv2d`) keeps TensorFlow `same` padding visible, so
    `mults_excluding_padding` does not count the padded zeros as real pixels.
    """
    shape = shape_of(args[0])
    if len(shape) == 3:
        shape = (1, *shape)
    counts = stage_cost(module.spec, (shape[2], shape[3])).counts.scaled(shape[0])
    return OpCost(
        counts.mults,
        counts.acc_adds,
        counts.bias_adds,
        mults_excluding_padding=counts.mults_excluding_padding,
    )


def col2im_formula(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> OpCost:
    """aten.col2im (F.fold)(input, output_size, kernel_size, dilation, padding, stride): sums the patches.

    One addition per patch element that lands on an output position already written:
    ``N·C·(Π landing − Π reached)`` (the elements falling in the padding are dropped).
    """
    x, size, kernel, dilation, padding, stride = args[:6]
    nd = len(_ints(size, 2))
    size, kernel = _ints(size, nd), _ints(kernel, nd)
    dilation, padding, stride = _ints(dilation, nd), _ints(padding, nd), _ints(stride, nd)
    landing, reached = 1, 1
    for o, k, d, p, s in zip(size, kernel, dilation, padding, stride, strict=True):
        blocks = (o + 2 * p - d * (k - 1) - 1) // s + 1
        a, r = _covered_taps(blocks, o, k, s, d, p)
        landing *= a
        reached *= r
    xs = shape_of(x)
    n = xs[0] if len(xs) == 3 else 1
    channels = xs[-2] // math.prod(kernel)
    return OpCost(other_ops=n * channels * (landing - reached), category="other")


def numel_out(out: Any) -> int:
    """Elements of the (first) output."""
    t = first_tensor(out)
    return numel(t) if t is not None else 0
