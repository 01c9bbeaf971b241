"""MobileNet's cost-ratio theory: a cheaper variant's multiplications over the standard conv's, exact.

For a standard conv Cin → Cout with a kh×kw kernel and output Ho×Wo, multiplications are
`Cout·Ho·Wo·Cin·kh·kw`. With the same output size (same stride, padding and dilation):

- grouped (g): every filter sees Cin/g channels → `1/g`;
- depthwise-separable, depth multiplier m: depthwise `m·Cin·Ho·Wo·kh·kw` + pointwise `Cout·Ho·Wo·m·Cin`
  → `m·(1/Cout + 1/(kh·kw))` (MobileNet's `1/N + 1/D_K²` for m = 1);
- grouped depthwise-separable (g): the pointwise stage sees m·Cin/g channels → `m·(1/Cout + 1/(g·kh·kw))`.

Biases are additions, not multiplications, so the ratios are exact for multiplications (and MACs).

>>> t = ratio_theory("separable", 10, (3, 3))
>>> t.value, t.text()
(Fraction(19, 90), '1/Cout + 1/(kh·kw) = 1/10 + 1/(3·3)')
>>> ratio_theory("grouped", 10, (3, 3), groups=2).text()
'1/g = 1/2'
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from convwise.core.errors import config_error
from convwise.core.validate import Pair, pair, positive_int

#: Variant kinds the theory predicts a ratio to the standard conv for.
THEORY_KINDS: tuple[str, ...] = ("standard", "grouped", "separable", "grouped-separable")


@dataclass(frozen=True)
class RatioTheory:
    """A predicted ratio of multiplications (variant / standard conv), with its formula.

    Attributes:
        value: the exact ratio.
        formula: the formula in symbols, e.g. '1/Cout + 1/(kh·kw)'.
        substituted: the formula with the numbers, e.g. '1/10 + 1/(3·3)'.
    """

    value: Fraction
    formula: str
    substituted: str

    def text(self) -> str:
        """'formula = substituted', e.g. '1/Cout + 1/(kh·kw) = 1/10 + 1/(3·3)'."""
        return f"{self.formula} = {self.substituted}"

    def inverse(self) -> RatioTheory:
        """The ratio the other way round (standard / variant): how much the variant saves.

        >>> ratio_theory("separable", 10, (3, 3)).inverse().text()
        '1 / (1/Cout + 1/(kh·kw)) = 1 / (1/10 + 1/(3·3))'
        """
        return RatioTheory(1 / self.value, f"1 / ({self.formula})", f"1 / ({self.substituted})")


def ratio_theory(
    kind: str,
    out_channels: int,
    kernel_size: int | Pair,
    *,
    groups: int = 1,
    depth_multiplier: int = 1,
) -> RatioTheory:
    """The predicted multiplications of a `kind` conv over the standard conv's for the same mapping.

    Args:
        kind: standard, grouped, separable or grouped-separable.
        out_channels: Cout of both convs.
        kernel_size: kh×kw of the standard conv (and of the variant's spatial stage).
        groups: g of the grouped kinds.
        depth_multiplier: m of the separable kinds.

    Raises:
        ConfigError: another kind, or a non-positive integer argument.

    >>> ratio_theory("grouped-separable", 10, 3, groups=2, depth_multiplier=2).text()
    'm·(1/Cout + 1/(g·kh·kw)) = 2·(1/10 + 1/(2·3·3))'
    """
    cout = positive_int("out_channels", out_channels)
    kh, kw = pair("kernel_size", kernel_size)
    g = positive_int("groups", groups)
    m = positive_int("depth_multiplier", depth_multiplier)
    if kind == "standard":
        return RatioTheory(Fraction(1), "1", "1")
    if kind == "grouped":
        return RatioTheory(Fraction(1, g), "1/g", f"1/{g}")
    if kind not in ("separable", "grouped-separable"):
        raise config_error(f"`kind` must be one of {', '.join(THEORY_KINDS)}.", kind=kind)
    if kind == "separable":
        value = m * (Fraction(1, cout) + Fraction(1, kh * kw))
        formula, numbers = "1/Cout + 1/(kh·kw)", f"1/{cout} + 1/({kh}·{kw})"
    else:
        value = m * (Fraction(1, cout) + Fraction(1, g * kh * kw))
        formula, numbers = "1/Cout + 1/(g·kh·kw)", f"1/{cout} + 1/({g}·{kh}·{kw})"
    if m == 1:
        return RatioTheory(value, formula, numbers)
    return RatioTheory(value, f"m·({formula})", f"{m}·({numbers})")


def separable_ratio_theory(out_channels: int, kernel_size: Pair, depth_multiplier: int = 1) -> Fraction:
    """MobileNet's cost ratio of depthwise-separable to standard: 1/Cout + 1/(kh·kw) (exact).

    With a depth multiplier m both stages do m times the work: m·(1/Cout + 1/(kh·kw)). The ratio is exact
    for multiplications whenever both convs have the same output size (biases are additions, not
    multiplications).

    >>> separable_ratio_theory(32, (3, 3))
    Fraction(41, 288)
    """
    return ratio_theory("separable", out_channels, kernel_size, depth_multiplier=depth_multiplier).value
