"""Exact cost of a fully connected (linear) layer: parameters, multiplications, additions — explained.

Conventions (docs/cost-model.md), for `rows` input vectors of `in` features mapped to `out` features
(``y = x·Wᵀ + b``; rows = the batch times every leading axis of the input):

- weight params ``in·out``; bias params ``out``
- multiplications ``rows·in·out`` (= MACs); accumulation additions ``rows·(in − 1)·out``;
  bias additions ``rows·out`` — whichever kernel computes it (one fused ``addmm``, or a matmul and a
  separate add of the bias)
- bytes: weights, input and output at the dtype's width; intensity = FLOPs / bytes moved

>>> cost = linear_cost(128, 10, rows=2)
>>> cost.counts.params, cost.counts.mults, cost.counts.acc_adds, cost.counts.bias_adds
(1290, 2560, 2540, 20)
>>> print(cost.explanations[2].text())
multiplications = rows·in·out = 2·128·10 = 2,560
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from convwise.core.cost import CostReport, Counts
from convwise.core.explain import Explanation, fmt
from convwise.core.validate import dtype_bytes, non_negative_int


@dataclass(frozen=True)
class LinearCost(CostReport):
    """The cost of one linear layer on `rows` input vectors (batch and leading axes included).

    Attributes:
        in_features: features of each input vector.
        out_features: features of each output vector.
        rows: input vectors the layer is applied to (N times the product of the leading axes).
        bias: whether the layer adds a bias.
        dtype: element type the bytes are sized in.
        counts: parameters and operation counts (for all rows).
        weight_bytes: bytes of the parameters.
        input_bytes: bytes of the input vectors.
        output_bytes: bytes of the output vectors.
        bytes_moved: weights + input + output.
        explanations: every number derived, formula and values substituted.
    """

    in_features: int
    out_features: int
    rows: int
    bias: bool
    dtype: str
    counts: Counts
    weight_bytes: int
    input_bytes: int
    output_bytes: int
    bytes_moved: int
    explanations: tuple[Explanation, ...]

    def to_dict(self, *, explain: bool = False) -> dict[str, Any]:
        """The count keys (docs/cost-model.md) of the layer, its bytes and (optionally) the explanation."""
        out: dict[str, Any] = {
            "kind": "linear",
            "in_features": self.in_features,
            "out_features": self.out_features,
            "rows": self.rows,
            "bias": self.bias,
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
            }
        )
        if explain:
            out["explanation"] = [e.to_dict() for e in self.explanations]
        return out


def linear_counts(in_features: int, out_features: int, rows: int = 1, bias: bool = True) -> Counts:
    """The counts of `linear_cost` alone (no explanation, no validation): the profiler's hot path.

    >>> linear_counts(4, 3, rows=2).mults
    24
    """
    mults = rows * in_features * out_features
    return Counts(
        in_features * out_features,
        out_features if bias else 0,
        mults,
        rows * max(in_features - 1, 0) * out_features,
        rows * out_features if bias else 0,
        mults,
    )


def linear_cost(
    in_features: int, out_features: int, *, rows: int = 1, bias: bool = True, dtype: str = "float32"
) -> LinearCost:
    """Exact cost of a linear layer `in_features → out_features` applied to `rows` vectors.

    Args:
        in_features: features of each input vector.
        out_features: features of each output vector.
        rows: input vectors (N for an (N, in) input; N·L for (N, L, in)).
        bias: whether a bias is added.
        dtype: element type the bytes are sized in (a name from `DTYPE_BYTES`).

    Returns:
        The `LinearCost`.

    Raises:
        ConfigError: a negative or non-integer size, an unknown dtype.

    >>> linear_cost(4, 3, bias=False).counts.flops
    21
    """
    i = non_negative_int("in_features", in_features)
    o = non_negative_int("out_features", out_features)
    n = non_negative_int("rows", rows)
    width = dtype_bytes(dtype)
    has_bias = bool(bias)
    counts = linear_counts(i, o, n, has_bias)
    weight, bias_params, mults = counts.weight_params, counts.bias_params, counts.mults
    acc, bias_adds = counts.acc_adds, counts.bias_adds
    weight_bytes = counts.params * width
    in_bytes = n * i * width
    out_bytes = n * o * width
    moved = weight_bytes + in_bytes + out_bytes
    ex = [
        Explanation("weight params", "in·out", f"{i}·{o}", weight),
        Explanation(
            "bias params", "out" if has_bias else "no bias", f"{o}" if has_bias else "0", bias_params
        ),
        Explanation("multiplications", "rows·in·out", f"{n}·{i}·{o}", mults),
        Explanation("accumulation additions", "rows·(in − 1)·out", f"{n}·({i} − 1)·{o}", acc),
        Explanation(
            "bias additions",
            "rows·out" if has_bias else "no bias",
            f"{n}·{o}" if has_bias else "0",
            bias_adds,
        ),
        Explanation("MACs", "multiplications", fmt(mults), mults),
        Explanation(
            "FLOPs",
            "multiplications + accumulation additions + bias additions",
            f"{fmt(mults)} + {fmt(acc)} + {fmt(bias_adds)}",
            counts.flops,
        ),
        Explanation(
            "bytes moved",
            "weights + input + output",
            f"{fmt(weight_bytes)} + {fmt(in_bytes)} + {fmt(out_bytes)}",
            moved,
            f"memory, {dtype.removeprefix('torch.')}",
        ),
    ]
    return LinearCost(
        in_features=i,
        out_features=o,
        rows=n,
        bias=has_bias,
        dtype=dtype.removeprefix("torch."),
        counts=counts,
        weight_bytes=weight_bytes,
        input_bytes=in_bytes,
        output_bytes=out_bytes,
        bytes_moved=moved,
        explanations=tuple(ex),
    )
