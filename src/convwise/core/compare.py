"""Every variant side by side for one input → output mapping, with ratios to the standard conv."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from convwise.core.cost import LayerCost, layer_cost, separable_ratio_theory
from convwise.core.errors import ConfigError, config_error
from convwise.core.spec import BiasPolicy, LayerSpec, make_spec
from convwise.core.validate import Pair, chw, pair, positive_int


@dataclass(frozen=True)
class Variant:
    """One row of a comparison: a variant's cost, or why it does not apply."""

    name: str
    cost: LayerCost | None
    note: str = ""

    def ratio(self, baseline: LayerCost, field: str) -> Fraction | None:
        """This variant's `field` (params, mults, flops …) over the baseline's, exact; None if n/a."""
        if self.cost is None:
            return None
        base = getattr(baseline.counts, field)
        return Fraction(getattr(self.cost.counts, field), base) if base else None


@dataclass(frozen=True)
class Comparison:
    """The standard conv and every variant for the same mapping."""

    input_shape: tuple[int, int, int]
    out_channels: int
    kernel_size: Pair
    groups: int
    variants: tuple[Variant, ...]

    @property
    def baseline(self) -> LayerCost:
        """The standard convolution's cost (first row)."""
        cost = self.variants[0].cost
        if cost is None:  # pragma: no cover - the standard conv is validated first
            raise ConfigError("the standard convolution could not be built")
        return cost

    @property
    def theory_separable_ratio(self) -> Fraction:
        """1/Cout + 1/(kh·kw)."""
        return separable_ratio_theory(self.out_channels, self.kernel_size)

    def to_dict(self, *, explain: bool = False) -> dict[str, Any]:
        """JSON form: one layer report per variant with its ratios to the standard conv."""
        rows = []
        for v in self.variants:
            row: dict[str, Any] = {"variant": v.name, "note": v.note}
            if v.cost is not None:
                row.update(v.cost.to_dict(explain=explain))
                row["ratio_to_standard"] = {
                    f: float(r)
                    for f in ("params", "mults", "flops", "bytes_moved")
                    if (
                        r := (
                            v.ratio(self.baseline, f)
                            if f != "bytes_moved"
                            else Fraction(v.cost.bytes_moved, self.baseline.bytes_moved)
                        )
                    )
                    is not None
                }
            rows.append(row)
        return {
            "input_shape": [1, *self.input_shape],
            "out_channels": self.out_channels,
            "kernel_size": list(self.kernel_size),
            "groups": self.groups,
            "theory_separable_ratio": float(self.theory_separable_ratio),
            "theory_separable_ratio_formula": (
                f"1/Cout + 1/(kh·kw) = 1/{self.out_channels} + "
                f"1/({self.kernel_size[0]}·{self.kernel_size[1]})"
            ),
            "variants": rows,
        }


def compare(
    input_shape: tuple[int, int, int],
    out_channels: int,
    kernel_size: int | Pair,
    *,
    groups: int = 2,
    stride: int | Pair = 1,
    padding: Any = "valid",
    dilation: int | Pair = 1,
    depth_multiplier: int = 1,
    bias: bool = True,
    bias_policy: BiasPolicy = "pytorch",
    batch: int = 1,
    dtype: str = "float32",
) -> Comparison:
    """Cost of standard, grouped, depthwise, pointwise, separable and grouped-separable convolutions.

    Variants that cannot produce the mapping (e.g. depthwise when Cout is not a multiple of Cin, grouped
    when `groups` does not divide the channels) are listed with the reason instead of a cost.
    """
    c, _, _ = chw("input_shape", input_shape)
    cout = positive_int("out_channels", out_channels)
    k = pair("kernel_size", kernel_size)
    g = positive_int("groups", groups)
    common: dict[str, Any] = {"stride": stride, "padding": padding, "dilation": dilation}
    policy: BiasPolicy = bias_policy if bias else "none"
    candidates: list[tuple[str, dict[str, Any]]] = [
        ("standard", {"kind": "standard", "kernel_size": k, "bias": bias, **common}),
        (f"grouped (g={g})", {"kind": "grouped", "kernel_size": k, "groups": g, "bias": bias, **common}),
        ("depthwise", {"kind": "depthwise", "kernel_size": k, "bias": bias, **common}),
        ("pointwise", {"kind": "pointwise", "stride": stride, "bias": bias}),
        (
            "separable",
            {
                "kind": "separable",
                "kernel_size": k,
                "depth_multiplier": depth_multiplier,
                "bias_policy": policy,
                **common,
            },
        ),
        (
            f"grouped-separable (g={g})",
            {
                "kind": "grouped-separable",
                "kernel_size": k,
                "groups": g,
                "depth_multiplier": depth_multiplier,
                "bias_policy": policy,
                **common,
            },
        ),
    ]
    base_spec = make_spec(in_channels=c, out_channels=cout, **candidates[0][1])
    base = layer_cost(base_spec, input_shape, batch=batch, dtype=dtype)
    variants = [Variant("standard", base)]
    for name, kwargs in candidates[1:]:
        note = ""
        try:
            spec: LayerSpec = make_spec(in_channels=c, out_channels=cout, **kwargs)
            cost = layer_cost(spec, input_shape, batch=batch, dtype=dtype)
        except ConfigError as exc:
            variants.append(Variant(name, None, str(exc)))
            continue
        if cost.output_shape != base.output_shape:
            note = "output shape differs from the standard conv's"
        variants.append(Variant(name, cost, note))
    if g == 1:
        raise config_error("`groups` for the grouped variants must be at least 2.", groups=g)
    return Comparison((c, input_shape[1], input_shape[2]), cout, k, g, tuple(variants))
