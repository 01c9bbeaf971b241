"""Exact cost of a convolution: parameters, multiplications, additions, MACs, FLOPs, bytes — explained.

Conventions (docs/cost-model.md), for Cin, Cout, groups g, kernel kh×kw and output Ho×Wo, per sample:

- weight params ``Cout·(Cin/g)·kh·kw``; bias params ``Cout``
- multiplications ``Cout·Ho·Wo·(Cin/g)·kh·kw`` (taps over padding are counted, as frameworks do)
- accumulation additions ``Cout·Ho·Wo·((Cin/g)·kh·kw − 1)``; bias additions ``Cout·Ho·Wo``
- MACs = multiplications; FLOPs = multiplications + all additions
- bytes: weights, input and output activations at the dtype's width; intensity = FLOPs / bytes moved

All counts are Python ints, so they are exact at any size.

>>> from convwise.core import layer_cost, make_spec
>>> cost = layer_cost(make_spec("separable", 16, 32, 3, padding="same"), (16, 8, 8))
>>> cost.counts.params, cost.counts.mults, cost.counts.flops  # both biases (the pytorch policy)
(704, 41984, 83968)
>>> [(s.spec.role, s.counts.mults) for s in cost.stages]
[('depthwise', 9216), ('pointwise', 32768)]
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from convwise.core.explain import Explanation, fmt
from convwise.core.spec import Conv2dSpec, LayerSpec
from convwise.core.validate import Pair, chw, dtype_bytes, positive_int

#: The integer count fields every cost carries, in report order.
COUNT_FIELDS: tuple[str, ...] = (
    "params",
    "trainable_params",
    "non_trainable_params",
    "mults",
    "adds",
    "bias_adds",
    "macs",
    "flops",
)


@dataclass(frozen=True)
class Counts:
    """Additive integer counts of one stage, one layer or a whole model."""

    weight_params: int = 0
    bias_params: int = 0
    mults: int = 0
    acc_adds: int = 0
    bias_adds: int = 0
    mults_excluding_padding: int = 0

    @property
    def params(self) -> int:
        """Weight + bias parameters."""
        return self.weight_params + self.bias_params

    @property
    def adds(self) -> int:
        """Every addition: accumulation + bias."""
        return self.acc_adds + self.bias_adds

    @property
    def macs(self) -> int:
        """Multiply-accumulates (the MobileNet paper's Mult-Adds) = multiplications."""
        return self.mults

    @property
    def flops(self) -> int:
        """Multiplications + all additions."""
        return self.mults + self.adds

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            self.weight_params + other.weight_params,
            self.bias_params + other.bias_params,
            self.mults + other.mults,
            self.acc_adds + other.acc_adds,
            self.bias_adds + other.bias_adds,
            self.mults_excluding_padding + other.mults_excluding_padding,
        )

    def scaled(self, batch: int) -> Counts:
        """Operation counts × batch (parameters unchanged)."""
        return Counts(
            self.weight_params,
            self.bias_params,
            self.mults * batch,
            self.acc_adds * batch,
            self.bias_adds * batch,
            self.mults_excluding_padding * batch,
        )

    def to_dict(self) -> dict[str, int]:
        """The count keys of docs/cost-model.md (all parameters trainable) plus the parts they are made of."""
        return {
            "params": self.params,
            "trainable_params": self.params,
            "non_trainable_params": 0,
            "weight_params": self.weight_params,
            "bias_params": self.bias_params,
            "mults": self.mults,
            "adds": self.adds,
            "acc_adds": self.acc_adds,
            "bias_adds": self.bias_adds,
            "macs": self.macs,
            "flops": self.flops,
            "mults_excluding_padding": self.mults_excluding_padding,
        }


def valid_taps(size: int, out: int, kernel: int, stride: int, dilation: int, before: int) -> int:
    """Σ over output positions of kernel taps that land inside the unpadded input (one axis), in O(k).

    `before` is the padding ahead of the first input element; any axis of any convolution.

    >>> valid_taps(5, 5, 3, 1, 1, 1)  # k3, 'same' on 5 pixels: the two border outputs miss one tap each
    13
    """
    total = 0
    for t in range(kernel):
        offset = t * dilation - before  # input index = o·s + offset must lie in [0, size)
        lo = max(0, -(offset // stride))  # ceil(−offset / s)
        hi = min(out - 1, (size - 1 - offset) // stride)
        if hi >= lo:
            total += hi - lo + 1
    return total


@dataclass(frozen=True)
class StageCost:
    """Cost of one primitive conv stage for one sample."""

    spec: Conv2dSpec
    input_size: Pair
    output_size: Pair
    pads: tuple[int, int, int, int]
    counts: Counts
    explanations: tuple[Explanation, ...]


def stage_cost(spec: Conv2dSpec, size: Pair) -> StageCost:
    """Exact per-sample counts of one conv stage on an input of `size` = (H, W), with explanations."""
    h, w = size
    ho, wo = spec.output_size(size)
    top, bottom, left, right = spec.pads(size)
    kh, kw = spec.kernel_size
    sh, sw = spec.stride
    dh, dw = spec.dilation
    cin, cout, g = spec.in_channels, spec.out_channels, spec.groups
    cpg = spec.channels_per_group
    taps = cpg * kh * kw
    weight = spec.weight_params()
    bias = spec.bias_params()
    mults = cout * ho * wo * taps
    acc = cout * ho * wo * (taps - 1)
    bias_adds = cout * ho * wo if spec.bias else 0
    valid_h = valid_taps(h, ho, kh, sh, dh, top)
    valid_w = valid_taps(w, wo, kw, sw, dw, left)
    mults_excl = cout * cpg * valid_h * valid_w
    scope = spec.role
    cpg_text = f"({cin}/{g})" if g != 1 else f"{cin}"
    cpg_sym = "(Cin/g)" if g != 1 else "Cin"
    ex: list[Explanation] = []
    for axis, n, k, s, d, before, after, o in (
        ("height", h, kh, sh, dh, top, bottom, ho),
        ("width", w, kw, sw, dw, left, right, wo),
    ):
        sym = "H" if axis == "height" else "W"
        if spec.padding.kind == "same":
            total = before + after
            ex.append(
                Explanation(
                    f"same padding ({axis}, {before} before + {after} after)",
                    f"max((ceil({sym}/s) − 1)·s + d·(k−1) + 1 − {sym}, 0)",
                    f"max((ceil({n}/{s}) − 1)·{s} + {d}·({k}−1) + 1 − {n}, 0)",
                    total,
                    scope,
                )
            )
        ex.append(
            Explanation(
                f"output {axis}",
                f"floor(({sym} + pad − d·(k−1) − 1)/s) + 1",
                f"floor(({n} + {before + after} − {d}·({k}−1) − 1)/{s}) + 1",
                o,
                scope,
            )
        )
        if spec.padding.kind == "same":
            ex.append(
                Explanation(f"output {axis} (TensorFlow form)", f"ceil({sym}/s)", f"ceil({n}/{s})", o, scope)
            )
        elif spec.padding.kind == "valid":
            ex.append(
                Explanation(
                    f"output {axis} (TensorFlow form)",
                    f"ceil(({sym} − d·(k−1))/s)",
                    f"ceil(({n} − {d}·({k}−1))/{s})",
                    o,
                    scope,
                )
            )
    ex.append(
        Explanation("weight params", f"Cout·{cpg_sym}·kh·kw", f"{cout}·{cpg_text}·{kh}·{kw}", weight, scope)
    )
    ex.append(
        Explanation(
            "bias params", "Cout" if spec.bias else "no bias", f"{cout}" if spec.bias else "0", bias, scope
        )
    )
    ex.append(
        Explanation(
            "multiplications",
            f"Cout·Ho·Wo·{cpg_sym}·kh·kw",
            f"{cout}·{ho}·{wo}·{cpg_text}·{kh}·{kw}",
            mults,
            scope,
        )
    )
    ex.append(
        Explanation(
            "accumulation additions",
            f"Cout·Ho·Wo·({cpg_sym}·kh·kw − 1)",
            f"{cout}·{ho}·{wo}·({cpg_text}·{kh}·{kw} − 1)",
            acc,
            scope,
        )
    )
    ex.append(
        Explanation(
            "bias additions",
            "Cout·Ho·Wo" if spec.bias else "no bias",
            f"{cout}·{ho}·{wo}" if spec.bias else "0",
            bias_adds,
            scope,
        )
    )
    if mults_excl != mults:
        ex.append(
            Explanation(
                "multiplications excluding padding taps",
                f"Cout·{cpg_sym}·(Σ over output rows of kernel rows on real pixels)"
                "·(Σ over output columns of kernel columns on real pixels)",
                f"{cout}·{cpg_text}·{valid_h}·{valid_w}",
                mults_excl,
                scope,
            )
        )
    counts = Counts(weight, bias, mults, acc, bias_adds, mults_excl)
    return StageCost(spec, size, (ho, wo), (top, bottom, left, right), counts, tuple(ex))


class CostReport:
    """What a cost report derives from its counts, bytes moved and explanations (LayerCost, LinearCost)."""

    counts: Counts
    bytes_moved: int
    explanations: tuple[Explanation, ...]

    @property
    def arithmetic_intensity(self) -> Fraction:
        """FLOPs per byte moved (exact fraction)."""
        return Fraction(self.counts.flops, self.bytes_moved) if self.bytes_moved else Fraction(0)

    def explain(self) -> str:
        """Every number of the report derived, one line each."""
        return "\n".join(e.text() for e in self.explanations)


@dataclass(frozen=True)
class LayerCost(CostReport):
    """The full cost report of one convolution variant on a given input (batch included)."""

    spec: LayerSpec
    input_shape: tuple[int, int, int, int]
    output_shape: tuple[int, int, int, int]
    dtype: str
    stages: tuple[StageCost, ...]
    counts: Counts
    weight_bytes: int
    input_bytes: int
    output_bytes: int
    bytes_moved: int
    explanations: tuple[Explanation, ...]

    @property
    def batch(self) -> int:
        """Batch size N the operation counts are for."""
        return self.input_shape[0]

    def to_dict(self, *, explain: bool = False) -> dict[str, Any]:
        """The layer report of docs/cost-model.md (shapes in N, C, H, W order; all integers exact)."""
        out: dict[str, Any] = {
            "kind": self.spec.kind,
            "description": self.spec.describe(),
            "input_shape": list(self.input_shape),
            "output_shape": list(self.output_shape),
        }
        out.update(self.counts.to_dict())
        out.update(
            {
                "dtype": self.dtype,
                "weight_bytes": self.weight_bytes,
                "input_bytes": self.input_bytes,
                "output_bytes": self.output_bytes,
                "bytes_moved": self.bytes_moved,
                "arithmetic_intensity": float(self.arithmetic_intensity),
                "spec": self.spec.to_dict(),
                "stages": [
                    {
                        "role": st.spec.role,
                        "input_hw": list(st.input_size),
                        "output_hw": list(st.output_size),
                        "padding": list(st.pads),
                        **st.counts.scaled(self.batch).to_dict(),
                    }
                    for st in self.stages
                ],
            }
        )
        if explain:
            out["explanation"] = [e.to_dict() for e in self.explanations]
        return out


def layer_cost(
    spec: LayerSpec, input_shape: tuple[int, int, int], *, batch: int = 1, dtype: str = "float32"
) -> LayerCost:
    """Exact cost of a variant on an input (C, H, W), for `batch` samples, with tensors of `dtype`.

    Raises:
        ConfigError: bad shape, channel mismatch, kernel larger than the padded input, unknown dtype.
    """
    c, h, w = chw("input_shape", input_shape)
    n = positive_int("batch", batch)
    width = dtype_bytes(dtype)
    oc, oh, ow = spec.output_shape((c, h, w))
    stages: list[StageCost] = []
    size: Pair = (h, w)
    total = Counts()
    explanations: list[Explanation] = []
    weight_bytes = 0
    moved = 0
    moved_parts: list[str] = []
    for st_spec in spec.stages:
        st = stage_cost(st_spec, size)
        stages.append(st)
        explanations.extend(st.explanations)
        total = total + st.counts
        st_in = n * st_spec.in_channels * size[0] * size[1] * width
        st_out = n * st_spec.out_channels * st.output_size[0] * st.output_size[1] * width
        weight_bytes += st.counts.params * width
        moved += st.counts.params * width + st_in + st_out
        moved_parts.append(f"{fmt(st.counts.params * width)} + {fmt(st_in)} + {fmt(st_out)}")
        size = st.output_size
    per_sample = total
    total = total.scaled(n)
    in_bytes = n * c * h * w * width
    out_bytes = n * oc * oh * ow * width
    scope = "total"
    names = [s.spec.role for s in stages]

    def parts(attr: str) -> str:
        return " + ".join(fmt(getattr(s.counts, attr)) for s in stages)

    if len(stages) > 1:
        explanations.append(
            Explanation(
                "params", " + ".join(f"params({r})" for r in names), parts("params"), total.params, scope
            )
        )
        explanations.append(
            Explanation(
                "multiplications",
                " + ".join(f"mults({r})" for r in names),
                parts("mults"),
                per_sample.mults,
                scope + " per sample",
            )
        )
        explanations.append(
            Explanation(
                "additions",
                " + ".join(f"adds({r})" for r in names),
                parts("adds"),
                per_sample.adds,
                scope + " per sample",
            )
        )
    else:
        explanations.append(
            Explanation(
                "params",
                "weight params + bias params",
                f"{fmt(total.weight_params)} + {fmt(total.bias_params)}",
                total.params,
                scope,
            )
        )
    explanations.append(
        Explanation("MACs", "multiplications", fmt(per_sample.mults), per_sample.macs, scope + " per sample")
    )
    explanations.append(
        Explanation(
            "FLOPs",
            "multiplications + accumulation additions + bias additions",
            f"{fmt(per_sample.mults)} + {fmt(per_sample.acc_adds)} + {fmt(per_sample.bias_adds)}",
            per_sample.flops,
            scope + " per sample",
        )
    )
    if n > 1:
        for name, value in (
            ("multiplications", per_sample.mults),
            ("additions", per_sample.adds),
            ("FLOPs", per_sample.flops),
        ):
            explanations.append(
                Explanation(name, "N·(per sample)", f"{n}·{fmt(value)}", value * n, f"total, batch {n}")
            )
    explanations.append(
        Explanation(
            "weight bytes",
            "params·bytes per element",
            f"{fmt(total.params)}·{width}",
            weight_bytes,
            f"memory, {dtype}",
        )
    )
    explanations.append(
        Explanation(
            "input bytes",
            "N·C·H·W·bytes per element",
            f"{n}·{c}·{h}·{w}·{width}",
            in_bytes,
            f"memory, {dtype}",
        )
    )
    explanations.append(
        Explanation(
            "output bytes",
            "N·Cout·Ho·Wo·bytes per element",
            f"{n}·{oc}·{oh}·{ow}·{width}",
            out_bytes,
            f"memory, {dtype}",
        )
    )
    moved_formula = (
        "weights + input + output"
        if len(stages) == 1
        else "Σ over stages (weights + stage input + stage output)"
    )
    moved_text = moved_parts[0] if len(moved_parts) == 1 else " + ".join(f"({p})" for p in moved_parts)
    explanations.append(Explanation("bytes moved", moved_formula, moved_text, moved, f"memory, {dtype}"))
    intensity = Fraction(total.flops, moved)
    explanations.append(
        Explanation(
            "arithmetic intensity (FLOPs/byte)",
            "FLOPs / bytes moved",
            f"{fmt(total.flops)} / {fmt(moved)}",
            float(intensity),
            "memory",
        )
    )
    return LayerCost(
        spec=spec,
        input_shape=(n, c, h, w),
        output_shape=(n, oc, oh, ow),
        dtype=dtype.removeprefix("torch."),
        stages=tuple(stages),
        counts=total,
        weight_bytes=weight_bytes,
        input_bytes=in_bytes,
        output_bytes=out_bytes,
        bytes_moved=moved,
        explanations=tuple(explanations),
    )
