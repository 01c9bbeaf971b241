"""Fast output-shape kernels for the meta run of the ops every CNN is made of.

On the meta device PyTorch computes output shapes with Python reference kernels whose first call imports
`torch._dynamo` and sympy (about 2 s and 70 MB once per process). For the common ops, the profiler's
dispatch mode answers with a fresh meta tensor of the shape computed here instead, and calls the real
meta kernel for everything else. Each kernel is tested against PyTorch's own meta kernel
(tests/profile/test_meta_shapes.py). A kernel returns None when it does not handle the arguments
(the real kernel then runs).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

Kernel = Callable[[tuple[Any, ...], dict[str, Any]], Any]


def _empty(shape: list[int] | tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
    return torch.empty(shape, dtype=dtype, device="meta")


def _list(v: Any, n: int) -> list[int]:
    if isinstance(v, int):
        return [v] * n
    values = [int(x) for x in v]
    return values * n if len(values) == 1 else values


def broadcast(a: Any, b: Any) -> list[int] | None:
    """NumPy/PyTorch broadcasting of two shapes, or None if they do not broadcast.

    (`torch.broadcast_shapes` imports sympy on its first call; this is the plain rule.)
    """
    a, b = [int(v) for v in a], [int(v) for v in b]
    n = max(len(a), len(b))
    a, b = [1] * (n - len(a)) + a, [1] * (n - len(b)) + b
    out = []
    for x, y in zip(a, b, strict=True):
        if x != y and 1 not in (x, y):
            return None
        out.append(y if x == 1 else x)
    return out


def _conv(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    if kwargs or len(args) != 9:
        return None
    x, w, _b, stride, padding, dilation, transposed, out_pad, groups = args
    nd = w.dim() - 2
    if x.dim() != nd + 2:
        return None
    s, p, d = _list(stride, nd), _list(padding, nd), _list(dilation, nd)
    op = _list(out_pad, nd) if transposed else [0] * nd
    k = list(w.shape[2:])
    spatial = []
    for i in range(nd):
        n = int(x.shape[2 + i])
        if transposed:
            o = (n - 1) * s[i] - 2 * p[i] + d[i] * (k[i] - 1) + op[i] + 1
        else:
            o = (n + 2 * p[i] - d[i] * (k[i] - 1) - 1) // s[i] + 1
        if o < 1:
            return None  # let PyTorch raise its own error
        spatial.append(o)
    cout = int(w.shape[1]) * int(groups) if transposed else int(w.shape[0])
    cin_expected = int(w.shape[0]) if transposed else int(w.shape[1]) * int(groups)
    if int(x.shape[1]) != cin_expected:
        return None
    return _empty([int(x.shape[0]), cout, *spatial], x.dtype)


def _batch_norm(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    x = args[0]
    if x.dim() < 2:
        return None
    c = int(x.shape[1])
    weight = args[1] if len(args) > 1 else None
    if weight is not None and tuple(weight.shape) != (c,):
        return None
    stat = _empty([c], x.dtype)
    return (_empty(list(x.shape), x.dtype), stat, _empty([c], x.dtype))


def _batch_norm_functional(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    out = _batch_norm(args, kwargs)
    if out is None:
        return None
    c = int(args[0].shape[1])
    return (*out, _empty([c], args[0].dtype), _empty([c], args[0].dtype))


def _unary(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    x = args[0]
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        return None  # integer inputs may promote (sigmoid, exp, …): let PyTorch decide
    return _empty(list(x.shape), x.dtype)


def _unary_inplace(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    return args[0] if isinstance(args[0], torch.Tensor) else None


def _binary(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    if len(args) < 2 or not isinstance(args[0], torch.Tensor):
        return None
    a, b = args[0], args[1]
    if isinstance(b, torch.Tensor):
        if b.device.type != "meta" and b.dim() > 0:
            return None
        shape = broadcast(a.shape, b.shape)
        if shape is None:
            return None
    elif isinstance(b, (int, float, bool)):
        shape = [int(v) for v in a.shape]
    else:
        return None
    return _empty(shape, torch.result_type(a, b))


def _div(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    out = _binary(args, kwargs)
    if out is None or not out.is_floating_point() or kwargs.get("rounding_mode") is not None:
        return None  # true division of integers gives floats: let PyTorch decide
    return out


def _binary_inplace(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    if len(args) < 2 or not isinstance(args[0], torch.Tensor):
        return None
    b = args[1]
    if isinstance(b, torch.Tensor) and broadcast(args[0].shape, b.shape) != [int(v) for v in args[0].shape]:
        return None
    return args[0]


def _pool_out(n: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    num = n + 2 * p - d * (k - 1) - 1
    o = (-(-num // s) if ceil_mode else num // s) + 1
    if ceil_mode and (o - 1) * s >= n + p:
        o -= 1
    return o


def _pool(args: tuple[Any, ...], kwargs: dict[str, Any], *, with_dilation: bool) -> list[int] | None:
    if kwargs:
        return None
    x = args[0]
    if x.dim() not in (3, 4):
        return None
    k = _list(args[1], 2)
    s = _list(args[2], 2) if len(args) > 2 and args[2] else k
    p = _list(args[3], 2) if len(args) > 3 else [0, 0]
    if with_dilation:
        d = _list(args[4], 2) if len(args) > 4 else [1, 1]
        ceil_mode = bool(args[5]) if len(args) > 5 else False
    else:
        d = [1, 1]
        ceil_mode = bool(args[4]) if len(args) > 4 else False
    for k_i, p_i, d_i in zip(k, p, d, strict=True):
        if 2 * p_i > (k_i - 1) * d_i + 1:  # PyTorch: pad at most half of the (effective) kernel
            return None  # let PyTorch raise its own error
    h, w = int(x.shape[-2]), int(x.shape[-1])
    oh = _pool_out(h, k[0], s[0], p[0], d[0], ceil_mode)
    ow = _pool_out(w, k[1], s[1], p[1], d[1], ceil_mode)
    if oh < 1 or ow < 1:
        return None
    return [*[int(v) for v in x.shape[:-2]], oh, ow]


def _max_pool2d_with_indices(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    shape = _pool(args, kwargs, with_dilation=True)
    if shape is None:
        return None
    return (_empty(shape, args[0].dtype), _empty(shape, torch.int64))


def _max_pool2d(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    shape = _pool(args, kwargs, with_dilation=True)
    return None if shape is None else _empty(shape, args[0].dtype)


def _avg_pool2d(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    shape = _pool(args, kwargs, with_dilation=False)
    return None if shape is None else _empty(shape, args[0].dtype)


def _adaptive_avg_pool2d(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    x, size = args[0], args[1]
    if x.dim() not in (3, 4) or kwargs:
        return None
    oh, ow = _list(size, 2)
    return _empty([*[int(v) for v in x.shape[:-2]], oh, ow], x.dtype)


def _reduce(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    x = args[0]
    dims = args[1] if len(args) > 1 else kwargs.get("dim")
    keepdim = bool(args[2]) if len(args) > 2 else bool(kwargs.get("keepdim", False))
    if set(kwargs) - {"dim", "keepdim"} or len(args) > 3 or x.dim() == 0:
        return None
    nd = x.dim()
    axes = set(range(nd)) if dims is None or len(dims) == 0 else {int(d) % nd for d in dims}
    shape = (
        [1 if i in axes else int(n) for i, n in enumerate(x.shape)]
        if keepdim
        else [int(n) for i, n in enumerate(x.shape) if i not in axes]
    )
    if not x.is_floating_point():
        return None
    return _empty(shape, x.dtype)


def _mm(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    a, b = args[0], args[1]
    if kwargs or a.dim() != 2 or b.dim() != 2 or a.shape[1] != b.shape[0] or a.dtype != b.dtype:
        return None
    return _empty([int(a.shape[0]), int(b.shape[1])], a.dtype)


def _addmm(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    if kwargs or len(args) != 3:
        return None
    out = _mm(args[1:], {})
    if out is None:
        return None
    if broadcast(args[0].shape, out.shape) != [int(v) for v in out.shape]:
        return None
    return out


def _bmm(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    a, b = args[0], args[1]
    if kwargs or a.dim() != 3 or b.dim() != 3 or a.shape[0] != b.shape[0] or a.shape[2] != b.shape[1]:
        return None
    return _empty([int(a.shape[0]), int(a.shape[1]), int(b.shape[2])], a.dtype)


def _softmax(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    x = args[0]
    if kwargs or len(args) < 2 or len(args) > 3 or (len(args) == 3 and args[2] not in (False, None)):
        return None
    return _empty(list(x.shape), x.dtype)


def _pad(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    x, pad = args[0], list(args[1])
    if kwargs or len(pad) % 2 or len(pad) // 2 > x.dim():
        return None
    shape = [int(v) for v in x.shape]
    for i in range(len(pad) // 2):
        axis = x.dim() - 1 - i
        shape[axis] += int(pad[2 * i]) + int(pad[2 * i + 1])
        if shape[axis] < 0:
            return None
    return _empty(shape, x.dtype)


_UNARY = (
    "relu", "hardtanh", "leaky_relu", "elu", "gelu", "silu", "sigmoid", "tanh", "hardswish", "hardsigmoid",
    "mish", "neg", "exp", "sqrt", "rsqrt", "abs", "clone", "threshold",
)  # fmt: skip
_UNARY_INPLACE = ("relu_", "hardtanh_", "leaky_relu_", "elu_", "gelu_", "silu_", "sigmoid_", "tanh_",
                  "hardswish_", "hardsigmoid_", "mish_", "zero_", "fill_")  # fmt: skip
_BINARY = ("add", "sub", "mul")
_BINARY_INPLACE = ("add_", "sub_", "mul_", "div_")


def _table() -> dict[Any, Kernel]:
    aten = torch.ops.aten
    table: dict[Any, Kernel] = {
        aten.convolution.default: _conv,
        aten.native_batch_norm.default: _batch_norm,
        aten._native_batch_norm_legit_no_training.default: _batch_norm,
        aten._native_batch_norm_legit.default: _batch_norm,
        aten._native_batch_norm_legit_functional.default: _batch_norm_functional,
        aten.max_pool2d_with_indices.default: _max_pool2d_with_indices,
        aten.max_pool2d.default: _max_pool2d,  # undecomposed under inference_mode
        aten.avg_pool2d.default: _avg_pool2d,
        aten.adaptive_avg_pool2d.default: _adaptive_avg_pool2d,
        aten._adaptive_avg_pool2d.default: _adaptive_avg_pool2d,
        aten.mean.dim: _reduce,
        aten.sum.dim_IntList: _reduce,
        aten.mm.default: _mm,
        aten.addmm.default: _addmm,
        aten.bmm.default: _bmm,
        aten._softmax.default: _softmax,
        aten._log_softmax.default: _softmax,
        aten._safe_softmax.default: _softmax,
        aten.constant_pad_nd.default: _pad,
    }
    for name in _UNARY:
        table[getattr(aten, name).default] = _unary
    for name in _UNARY_INPLACE:
        packet = getattr(aten, name)
        for overload in packet.overloads():
            table[getattr(packet, overload)] = _unary_inplace
    for name in _BINARY:
        packet = getattr(aten, name)
        for overload in ("Tensor", "Scalar"):
            table[getattr(packet, overload)] = _binary
    for overload in ("Tensor", "Scalar"):
        table[getattr(aten.div, overload)] = _div
    for name in _BINARY_INPLACE:
        packet = getattr(aten, name)
        for overload in ("Tensor", "Scalar"):
            table[getattr(packet, overload)] = _binary_inplace
    return table


#: OpOverload → shape kernel.
SHAPE_KERNELS: dict[Any, Kernel] = _table()


def fast_meta(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """The op's output computed from shapes alone, or None when not handled (run the real kernel).

    Only used when every tensor argument is on the meta device.
    """
    kernel = SHAPE_KERNELS.get(func)
    if kernel is None:
        return None
    try:
        return kernel(args, kwargs)
    except (RuntimeError, TypeError, ValueError, IndexError, AttributeError):
        return None
