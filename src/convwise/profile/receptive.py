"""Receptive field and jump of every tensor of a profiled forward, tracked op by op at the dispatch level.

Each tensor derived from a 4-D model input (N, C, H, W) carries a `Field`: its receptive field and jump
(distance between neighbouring outputs, in input pixels) on both spatial axes, and where those axes are
in the tensor. Model inputs start at r = 1, j = 1; sliding windows (2-D convolution, max / average
pooling) apply the recurrence of docs/cost-model.md, ``r ← r + d·(k − 1)·j``, ``j ← j·s``, with the op's
own kernel,
stride and dilation; element-wise ops take the largest field of their inputs (branches: the union of
fields centred on the same position); ops that mix every position (global pooling, flatten → linear,
statistics over H×W) widen the field to the span of all positions, ``r + (size − 1)·j``, and mark it
global. Ops whose jump is not an integer (upsampling, transposed convolution) make the field unknown,
never a guess. BatchNorm counts as element-wise (its statistics are constants at inference).
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import torch

from convwise.core import window_step
from convwise.profile import categories as cat
from convwise.profile.tensors import op_tensors, tensors_in

Pair = tuple[int, int]

_POINTWISE = cat.ELEMENTWISE
_UNKNOWN = cat.FIELD_UNKNOWN
_REDUCTIONS = frozenset(cat.REDUCTIONS)
_VIEWS = frozenset(cat.VIEWS)
_DIM_MOVES = frozenset(cat.DIM_MOVES)


@dataclass(frozen=True)
class Field:
    """Receptive field of a tensor, per spatial axis (H, W).

    Attributes:
        size: receptive field (rh, rw) in input pixels (padding included, as docs/cost-model.md's recurrence);
            None when unknown.
        jump: distance (jh, jw) between neighbouring elements, in input pixels; None once the spatial
            layout is gone (e.g. after flatten) or unknown.
        axes: positions of the H and W axes as negative indices (NCHW: (-2, -1)); None without a layout.
        whole: every element depends on every position of the input's feature maps (global).
        note: why the value is approximate or unknown (None when exact).
        rows: (H, W) when the spatial positions are merged, row-major, into the rows of a matrix
            (N·H·W, C) — a channels-last tensor viewed for a per-position `Linear` (addmm).
    """

    size: Pair | None
    jump: Pair | None
    axes: Pair | None = (-2, -1)
    whole: bool = False
    note: str | None = None
    rows: Pair | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON keys of a row: receptive_field, jump, receptive_field_global, receptive_field_note."""
        return {
            "receptive_field": list(self.size) if self.size is not None else None,
            "jump": list(self.jump) if self.jump is not None and self.size is not None else None,
            "receptive_field_global": self.whole,
            "receptive_field_note": self.note,
        }


#: The JSON of a row without a field (not derived from a 4-D input, or not run).
NO_FIELD: dict[str, Any] = {
    "receptive_field": None,
    "jump": None,
    "receptive_field_global": None,
    "receptive_field_note": None,
}

INPUT_FIELD = Field((1, 1), (1, 1))


def _note(*notes: str | None) -> str | None:
    seen: list[str] = []
    for n in notes:
        for part in (n or "").split("; "):
            if part and part not in seen:
                seen.append(part)
    return "; ".join(seen) or None


def _unknown(why: str, fields: list[Field]) -> Field:
    return Field(None, None, None, any(f.whole for f in fields), _note(*(f.note for f in fields), why))


def _pair(v: Any, default: int) -> Pair:
    if v is None:
        return (default, default)
    if isinstance(v, int):
        return (v, v)
    values = [int(x) for x in v]
    if not values:
        return (default, default)
    return (values[0], values[0]) if len(values) == 1 else (values[0], values[1])


def _positions(field: Field, rank: int) -> Pair | None:
    if field.axes is None:
        return None
    h, w = rank + field.axes[0], rank + field.axes[1]
    if not (0 <= h < rank and 0 <= w < rank):
        return None
    return (h, w)


def _sizes(t: torch.Tensor, field: Field) -> Pair | None:
    pos = _positions(field, t.dim())
    return None if pos is None else (int(t.shape[pos[0]]), int(t.shape[pos[1]]))


def _spread(field: Field, sizes: Pair, axes: tuple[bool, bool], *, keep_layout: bool) -> Field:
    """Every position along the chosen axes mixed: r + (size − 1)·j (a window as large as the map)."""
    if field.size is None:
        return field
    if field.jump is None:
        return replace(field, axes=None if not keep_layout else field.axes, whole=field.whole or all(axes))
    r = tuple(
        r + (n - 1) * j if on else r for r, n, j, on in zip(field.size, sizes, field.jump, axes, strict=True)
    )
    jump = tuple(j * n if on else j for n, j, on in zip(sizes, field.jump, axes, strict=True))
    return Field(
        (r[0], r[1]),
        (jump[0], jump[1]) if keep_layout else None,
        field.axes if keep_layout else None,
        field.whole or all(axes),
        field.note,
    )


def _collapse(t: torch.Tensor, field: Field) -> Field:
    """The spatial layout ends (flatten, matmul, …): the field of any element is the span of all positions."""
    if field.size is not None and field.rows is not None:
        return _spread(replace(field, axes=(-2, -1), rows=None), field.rows, (True, True), keep_layout=False)
    if field.size is None or field.axes is None:
        return replace(field, axes=None, jump=None)
    sizes = _sizes(t, field)
    if sizes is None:
        return replace(field, axes=None, jump=None, whole=True)
    return _spread(field, sizes, (True, True), keep_layout=False)


def _window(field: Field, kernel: Pair, stride: Pair, dilation: Pair) -> Field:
    """The recurrence of docs/cost-model.md (`convwise.core.window_step`) on both axes."""
    if field.size is None or field.jump is None:
        return field
    h = window_step(field.size[0], field.jump[0], kernel[0], stride[0], dilation[0])
    w = window_step(field.size[1], field.jump[1], kernel[1], stride[1], dilation[1])
    return Field((h[0], w[0]), (h[1], w[1]), field.axes, field.whole, field.note)


def _adaptive(field: Field, sizes: Pair, out: Pair) -> Field:
    """Adaptive pooling: window i spans [floor(i·n/o), ceil((i+1)·n/o)); regular when o divides n."""
    if field.size is None or field.jump is None:
        return field
    kernel, stride, note = [], [], None
    for n, o in zip(sizes, out, strict=True):
        if n % o == 0:
            kernel.append(n // o)
            stride.append(n // o)
            continue
        widths = [-(-(i + 1) * n // o) - (i * n // o) for i in range(o)]
        kernel.append(max(widths))
        stride.append(-(-n // o))
        note = "adaptive pooling with unequal windows: largest window and step (an upper bound)"
    result = _window(field, (kernel[0], kernel[1]), (stride[0], stride[1]), (1, 1))
    whole = field.whole or out == (1, 1)
    return replace(result, whole=whole, note=_note(field.note, note))


def _combine(fields: list[tuple[torch.Tensor, Field]], out: torch.Tensor) -> Field:
    """Largest field of the inputs; the jump of the inputs as large as the output (not broadcast ones)."""
    known = [f for _, f in fields]
    if any(f.size is None for f in known):
        return next(f for f in known if f.size is None)
    size = (max(f.size[0] for f in known if f.size), max(f.size[1] for f in known if f.size))
    whole = any(f.whole for f in known)
    note = _note(*(f.note for f in known))
    laid = [(t, f) for t, f in fields if f.axes is not None and f.jump is not None]
    rowed = [f for _, f in fields if f.rows is not None and f.jump is not None]
    if not laid and rowed and out.dim() == 2 and len({f.rows for f in rowed}) == 1:
        jumps = {f.jump for f in rowed if f.jump is not None}
        jump = (max(j[0] for j in jumps), max(j[1] for j in jumps))
        if len(jumps) > 1:
            note = _note(note, "inputs with different jumps: the largest is shown")
        return Field(size, jump, None, whole, note, rowed[0].rows)
    axes = {f.axes for _, f in laid}
    if not laid or len(axes) != 1 or out.dim() < 2:
        return Field(size, None, None, whole, note)
    (axis,) = axes
    probe = Field(size, (1, 1), axis)
    out_sizes = _sizes(out, probe)
    if out_sizes is None:
        return Field(size, None, None, whole, note)
    full = [f for t, f in laid if _sizes(t, f) == out_sizes] or [f for _, f in laid]
    jumps = {f.jump for f in full if f.jump is not None}
    jump = (max(j[0] for j in jumps), max(j[1] for j in jumps))
    if len(jumps) > 1:
        note = _note(note, "inputs with different jumps: the largest is shown")
    return Field(size, jump, axis, whole, note)


def _moved(field: Field, before: int, after: int, mapping: Mapping[int, int | None]) -> Field:
    """Field whose axes moved from positions in a rank-`before` tensor to a rank-`after` tensor."""
    if field.axes is None:
        return field
    pos = (before + field.axes[0], before + field.axes[1])
    new = [mapping.get(p, p) for p in pos]
    if any(p is None for p in new):
        return field  # caller collapses
    return replace(field, axes=(new[0] - after, new[1] - after))  # type: ignore[operator]


class FieldTracker:
    """Maps the tensors of one forward to their `Field` (by identity; the tensors stay alive on meta)."""

    def __init__(self, *, keep_alive: bool) -> None:
        self.keep_alive = keep_alive
        self._fields: dict[int, tuple[Any, Field]] = {}
        self._keys: dict[Any, str] = {}

    def get(self, t: torch.Tensor) -> Field | None:
        """The field of tensor `t`, or None when `t` does not derive from a tracked input."""
        entry = self._fields.get(id(t))
        if entry is None:
            return None
        ref, field = entry
        obj = ref if self.keep_alive else ref()
        return field if obj is t else None

    def set(self, t: torch.Tensor, field: Field) -> None:
        """Record `field` for tensor `t`."""
        self._fields[id(t)] = (t if self.keep_alive else weakref.ref(t), field)

    def seed(self, args: Any) -> None:
        """Model inputs: every 4-D (N, C, H, W) tensor starts at r = 1, j = 1."""
        for t in tensors_in(args):
            if t.dim() == 4 and self.get(t) is None:
                self.set(t, INPUT_FIELD)

    def first(self, value: Any) -> Field | None:
        """The field of the first tensor in `value` (a module's output)."""
        for t in tensors_in(value):
            return self.get(t)
        return None

    def clear(self) -> None:
        """Forget every tensor (end of the run)."""
        self._fields.clear()

    def op(self, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> None:
        """Give the outputs of one dispatched op their fields."""
        inputs = [(t, f) for t in op_tensors(args, kwargs) if (f := self.get(t)) is not None]
        if not inputs:
            return
        outs = [out] if isinstance(out, torch.Tensor) else tensors_in(out)
        if not outs:
            return
        name = self._keys.get(func)
        if name is None:
            packet = str(getattr(func, "overloadpacket", func))
            name = self._keys[func] = packet.split(".", 1)[1] if packet.startswith("aten.") else packet
        try:
            fields = self._rule(name, args, kwargs, inputs, outs)
        except Exception as exc:  # an op this tracker cannot read: say so rather than guess
            fields = [_unknown(f"aten.{name} not understood ({type(exc).__name__})", [f for _, f in inputs])]
        for t, field in zip(outs, fields * len(outs) if len(fields) == 1 else fields, strict=False):
            self.set(t, field)

    def _rule(
        self,
        name: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        inputs: list[tuple[torch.Tensor, Field]],
        outs: list[torch.Tensor],
    ) -> list[Field]:
        first = inputs[0][1]
        x = args[0] if args and isinstance(args[0], torch.Tensor) else None
        xf = self.get(x) if x is not None else None
        if any(f.size is None for _, f in inputs):
            return [_unknown("", [f for _, f in inputs])]
        if name in _UNKNOWN:
            return [
                _unknown(f"unknown after aten.{name} (the jump is not a whole number of pixels)", [first])
            ]
        if name == "convolution":
            plain_2d = x is not None and x.dim() in (3, 4) and args[1].dim() == 4
            if xf is None or x is None or not plain_2d or bool(args[6]) or xf.axes != (-2, -1):
                if bool(args[6]):
                    return [_unknown("unknown after a transposed convolution", [f for _, f in inputs])]
                return [self._generic(name, inputs, outs)]
            k = (int(args[1].shape[2]), int(args[1].shape[3]))
            return [_window(xf, k, _pair(args[3], 1), _pair(args[5], 1))]
        if name in ("max_pool2d", "max_pool2d_with_indices", "avg_pool2d"):
            if xf is None or x is None or xf.axes != (-2, -1):
                return [self._generic(name, inputs, outs)]
            k = _pair(args[1], 1)
            s = _pair(args[2], 1) if len(args) > 2 and args[2] else k
            d = _pair(args[4], 1) if name != "avg_pool2d" and len(args) > 4 else (1, 1)
            return [_window(xf, k, s, d)]
        if name in ("adaptive_avg_pool2d", "_adaptive_avg_pool2d", "adaptive_max_pool2d"):
            if xf is None or x is None or xf.axes != (-2, -1):
                return [self._generic(name, inputs, outs)]
            sizes = (int(x.shape[-2]), int(x.shape[-1]))
            o = (int(outs[0].shape[-2]), int(outs[0].shape[-1]))
            return [_adaptive(xf, sizes, o)]
        if name in ("mm", "addmm"):
            mat = args[0] if name == "mm" else args[1]
            mf = self.get(mat) if isinstance(mat, torch.Tensor) else None
            other_tracked = [t for t, _ in inputs if t is not mat]
            if mf is not None and mf.rows is not None and not other_tracked:
                return [mf]  # a per-position Linear: each row (position) is mixed with no other
            return [self._generic(name, inputs, outs)]
        if name in _POINTWISE:
            return [_combine(inputs, outs[0])]
        if name in ("native_group_norm", "native_layer_norm", "_softmax", "_log_softmax", "_safe_softmax"):
            pos = _positions(xf, x.dim()) if xf is not None and x is not None else None
            extent = _sizes(x, xf) if xf is not None and x is not None else None
            if x is None or pos is None or extent is None:
                return [self._generic(name, inputs, outs)]
            if name == "native_group_norm":
                mixed = {pos[0], pos[1]}
            elif name == "native_layer_norm":
                mixed = set(range(x.dim() - len(args[1]), x.dim()))
            else:
                mixed = {int(args[1]) % x.dim()}
            base = _combine(inputs, outs[0])
            return [_spread(base, extent, (pos[0] in mixed, pos[1] in mixed), keep_layout=True)]
        if name in _REDUCTIONS:
            return [self._reduce(args, kwargs, x, xf, inputs, outs)]
        if name in _VIEWS or name in _DIM_MOVES:
            return [self._layout(name, args, x, xf, inputs, outs)]
        return [self._generic(name, inputs, outs)]

    def _generic(
        self, name: str, inputs: list[tuple[torch.Tensor, Field]], outs: list[torch.Tensor]
    ) -> Field:
        """Any other op (matmul, linear, indexing, …): every position may mix, the layout ends."""
        spans = [_collapse(t, f) for t, f in inputs]
        return _combine([(outs[0], f) for f in spans], outs[0])

    def _reduce(
        self,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        x: torch.Tensor | None,
        xf: Field | None,
        inputs: list[tuple[torch.Tensor, Field]],
        outs: list[torch.Tensor],
    ) -> Field:
        if x is None or xf is None or _positions(xf, x.dim()) is None:
            return self._generic("reduction", inputs, outs)
        dims = args[1] if len(args) > 1 else kwargs.get("dim")
        if isinstance(dims, bool):
            dims = None
        keepdim = (
            bool(args[2]) if len(args) > 2 and isinstance(args[2], bool) else bool(kwargs.get("keepdim"))
        )
        rank = x.dim()
        if dims is None or (isinstance(dims, (list, tuple)) and len(dims) == 0):
            axes_reduced = set(range(rank))
        else:
            axes_reduced = {int(d) % rank for d in ([dims] if isinstance(dims, int) else dims)}
        pos = _positions(xf, rank)
        sizes = _sizes(x, xf)
        if pos is None or sizes is None:
            return self._generic("reduction", inputs, outs)
        hit = (pos[0] in axes_reduced, pos[1] in axes_reduced)
        if keepdim:
            return _spread(xf, sizes, hit, keep_layout=True)
        if any(hit):
            return _spread(xf, sizes, (True, True), keep_layout=False)
        mapping = {p: p - sum(1 for a in axes_reduced if a < p) for p in range(rank)}
        return _moved(xf, rank, outs[0].dim(), mapping)

    def _layout(
        self,
        name: str,
        args: tuple[Any, ...],
        x: torch.Tensor | None,
        xf: Field | None,
        inputs: list[tuple[torch.Tensor, Field]],
        outs: list[torch.Tensor],
    ) -> Field:
        """Views and dimension moves: follow the H and W axes, or end the layout when they merge."""
        if name == "stack":
            tensors = [(t, f) for t, f in inputs]
            base = _combine(tensors, tensors[0][0])
            if base.axes is None:
                return base
            d = int(args[1]) % outs[0].dim() if len(args) > 1 else 0
            rank = tensors[0][0].dim()
            return _moved(base, rank, outs[0].dim(), {p: p + (p >= d) for p in range(rank)})
        if x is None or xf is None:
            return self._generic(name, inputs, outs)
        if name in _VIEWS and xf.rows is not None and xf.size is not None:
            # (N·H·W, C) viewed back to (…, H, W, C): the positions are rows again
            out = outs[0]
            same_rows = out.dim() >= 3 and tuple(int(v) for v in out.shape[-3:-1]) == xf.rows
            if same_rows and int(out.shape[-1]) == int(x.shape[-1]):
                return replace(xf, axes=(-3, -2), rows=None)
            return _collapse(x, xf)
        pos = _positions(xf, x.dim())
        if pos is None:
            return self._generic(name, inputs, outs)
        rank, out = x.dim(), outs[0]
        mapping: dict[int, int | None]
        if name in _VIEWS:
            start = min(pos)
            tail = [int(v) for v in x.shape[start:]]
            if out.dim() >= len(tail) and [int(v) for v in out.shape[out.dim() - len(tail) :]] == tail:
                return _moved(xf, rank, out.dim(), {p: p - rank + out.dim() for p in range(rank)})
            if pos == (rank - 3, rank - 2) and out.dim() == 2 and int(out.shape[1]) == int(x.shape[-1]):
                # channels last (…, H, W, C) → (N·H·W, C), as F.linear does: the positions become rows
                sizes = _sizes(x, xf)
                return replace(xf, axes=None, rows=sizes)
            return _collapse(x, xf)
        if name in ("squeeze", "squeeze_"):
            dims = args[1] if len(args) > 1 else None
            if dims is None:
                gone = {i for i, n in enumerate(x.shape) if n == 1}
            else:
                gone = {int(d) % rank for d in ([dims] if isinstance(dims, int) else dims) if x.shape[d] == 1}
            mapping = {p: (None if p in gone else p - sum(1 for g in gone if g < p)) for p in range(rank)}
        elif name in ("unsqueeze", "unsqueeze_"):
            d = int(args[1]) % (rank + 1)
            mapping = {p: p + (p >= d) for p in range(rank)}
        elif name in ("select", "unbind"):
            d = int(args[1]) % rank if len(args) > 1 else 0
            mapping = {p: (None if p == d else p - (p > d)) for p in range(rank)}
        elif name == "permute":
            dims = [int(v) % rank for v in args[1]]
            mapping = {p: dims.index(p) for p in range(rank)}
        elif name in ("transpose", "t", "transpose_", "t_"):
            a, b = (int(args[1]) % rank, int(args[2]) % rank) if name.startswith("transpose") else (0, 1)
            mapping = {p: (b if p == a else a if p == b else p) for p in range(rank)}
        else:  # movedim
            return self._generic(name, inputs, outs)
        new = [mapping.get(p) for p in pos]
        if any(p is None for p in new):
            return _collapse(x, xf)
        return _moved(xf, rank, out.dim(), mapping)
