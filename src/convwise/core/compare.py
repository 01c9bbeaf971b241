"""Every variant side by side for one input → output mapping, with ratios to the standard conv.

>>> from convwise.core.compare import compare
>>> comparison = compare((4, 5, 5), 10, 3, groups=2)
>>> [(v.name, v.cost.counts.mults) for v in comparison.variants]  # doctest: +NORMALIZE_WHITESPACE
[('standard', 3240), ('grouped (g=2)', 1620), ('depthwise (4→4)', 324), ('pointwise', 1000),
 ('separable', 684), ('grouped-separable (g=2)', 504)]
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from convwise.core.cost import LayerCost, layer_cost
from convwise.core.errors import ConfigError, config_error
from convwise.core.explain import Explanation, fmt
from convwise.core.factories import make_spec
from convwise.core.spec import BiasPolicy, LayerSpec
from convwise.core.theory import RatioTheory, ratio_theory
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
    def batch(self) -> int:
        """Batch size N the operation counts are for."""
        return self.baseline.batch

    @property
    def depth_multiplier(self) -> int:
        """Depth multiplier m of the separable variants (1 unless asked otherwise)."""
        sep = self.variant("separable").cost
        return sep.spec.depth_multiplier if sep is not None else 1

    @property
    def separable_theory(self) -> RatioTheory:
        """MobileNet's 1/Cout + 1/(kh·kw), times the depth multiplier m when m > 1, with its formula."""
        return ratio_theory(
            "separable", self.out_channels, self.kernel_size, depth_multiplier=self.depth_multiplier
        )

    @property
    def theory_separable_ratio(self) -> Fraction:
        """MobileNet's 1/Cout + 1/(kh·kw), times the depth multiplier m when m > 1 (exact)."""
        return self.separable_theory.value

    def variant(self, name: str) -> Variant:
        """The row called `name` ('standard', 'separable', 'grouped (g=2)' …, or just 'grouped').

        Raises:
            ConfigError: no such row.
        """
        for v in self.variants:
            if name in (v.name, v.name.split(" (")[0]):
                return v
        raise config_error(f"`name` must be one of {', '.join(v.name for v in self.variants)}.", name=name)

    @property
    def separable_mults_ratio(self) -> Fraction | None:
        """Measured multiplications of the separable variant over the standard conv's (None if n/a)."""
        return self.variant("separable").ratio(self.baseline, "mults")

    @property
    def theory_holds(self) -> bool:
        """True when the theory is exact: the separable and the standard conv have the same output size.

        (Always the case when both are built with the same kernel, stride, padding and dilation.)
        """
        sep = self.variant("separable").cost
        return sep is not None and sep.output_shape == self.baseline.output_shape

    def explain_ratios(self) -> tuple[Explanation, ...]:
        """Every ratio to the standard conv derived, then the MobileNet theory and why it holds (or not)."""
        base = self.baseline
        out: list[Explanation] = []
        for v in self.variants[1:]:
            if v.cost is None:
                continue
            for field, label in (("params", "params"), ("mults", "multiplications"), ("flops", "FLOPs")):
                ratio = v.ratio(base, field)
                if ratio is None:
                    continue
                out.append(
                    Explanation(
                        f"{label} ratio",
                        f"{label} / {label}(standard)",
                        f"{fmt(getattr(v.cost.counts, field))} / {fmt(getattr(base.counts, field))}",
                        float(ratio),
                        v.name,
                    )
                )
        kh, kw = self.kernel_size
        cout, m = self.out_channels, self.depth_multiplier
        theory = self.separable_theory
        out.append(
            Explanation(
                "separable / standard multiplications, theory",
                theory.formula,
                theory.substituted,
                float(theory.value),
                "theory",
            )
        )
        sep = self.variant("separable").cost
        if sep is None:
            return tuple(out)
        holds = self.theory_holds
        std = base.counts.mults // base.batch
        total = sep.counts.mults // sep.batch
        out.append(
            Explanation(
                "separable / standard multiplications, measured"
                + ("" if holds else " (the theory does not apply: the output sizes differ)"),
                "mults(separable) / mults(standard)",
                f"{fmt(total)} / {fmt(std)}",
                float(Fraction(total, std)),
                "theory",
            )
        )
        if holds:
            dw, pw = sep.stages[0].counts.mults, sep.stages[1].counts.mults
            mm, num = ("", "1") if m == 1 else ("m·", "m")
            dw_text = f"{fmt(dw)} / {fmt(std)} = {m}/{cout}"
            pw_text = f"{fmt(pw)} / {fmt(std)} = {m}/({kh}·{kw})"
            out.append(
                Explanation(
                    "depthwise share",
                    f"mults(depthwise) / mults(standard) = {mm}Cin·Ho·Wo·kh·kw / (Cout·Ho·Wo·Cin·kh·kw) "
                    f"= {num}/Cout",
                    dw_text,
                    float(Fraction(dw, std)),
                    "theory",
                )
            )
            out.append(
                Explanation(
                    "pointwise share",
                    f"mults(pointwise) / mults(standard) = Cout·Ho·Wo·{mm}Cin / (Cout·Ho·Wo·Cin·kh·kw) "
                    f"= {num}/(kh·kw)",
                    pw_text,
                    float(Fraction(pw, std)),
                    "theory",
                )
            )
        return tuple(out)

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
            "input_shape": list(self.baseline.input_shape),
            "output_shape": list(self.baseline.output_shape),
            "out_channels": self.out_channels,
            "kernel_size": list(self.kernel_size),
            "groups": self.groups,
            "theory_separable_ratio": float(self.theory_separable_ratio),
            "theory_separable_ratio_formula": self.separable_theory.text(),
            "depth_multiplier": self.depth_multiplier,
            "theory_holds": self.theory_holds,
            "separable_mults_ratio": (
                None if self.separable_mults_ratio is None else float(self.separable_mults_ratio)
            ),
            "variants": rows,
            **({"ratio_explanation": [e.to_dict() for e in self.explain_ratios()]} if explain else {}),
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
    if g == 1:
        raise config_error("`groups` for the grouped variants must be at least 2.", groups=g)
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
    m = positive_int("depth_multiplier", depth_multiplier)
    for name, kwargs in candidates[1:]:
        notes: list[str] = []
        target = cout
        if kwargs["kind"] == "depthwise" and cout % c:
            # a depthwise conv cannot map Cin → Cout here; show the one it can (the separable's first stage)
            target = m * c
            name = f"depthwise ({c}→{target})"
            notes.append(
                f"a depthwise conv maps Cin → m·Cin = {c}→{target} channels, not {c}→{cout} "
                f"({cout} is not a multiple of {c}); shown for reference: it is the separable's first stage"
            )
        try:
            spec: LayerSpec = make_spec(in_channels=c, out_channels=target, **kwargs)
            cost = layer_cost(spec, input_shape, batch=batch, dtype=dtype)
        except ConfigError as exc:
            variants.append(Variant(name, None, str(exc)))
            continue
        if cost.output_shape[2:] != base.output_shape[2:]:
            kh, kw = cost.spec.kernel_size
            notes.append(
                f"output H×W {cost.output_shape[2]}×{cost.output_shape[3]} differs from the standard "
                f"conv's {base.output_shape[2]}×{base.output_shape[3]}"
                + (" (a 1x1 kernel does not shrink the input)" if (kh, kw) == (1, 1) else "")
            )
        variants.append(Variant(name, cost, "; ".join(notes)))
    return Comparison((c, input_shape[1], input_shape[2]), cout, k, g, tuple(variants))
