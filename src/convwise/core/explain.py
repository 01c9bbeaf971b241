"""Explanations: every number as a formula, the values substituted into it, and the result."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any


def fmt(value: int | float | Fraction) -> str:
    """Format a number for people: thousands separators for ints, up to 4 decimals otherwise.

    >>> fmt(1234567), fmt(0.21111111), fmt(3)
    ('1,234,567', '0.2111', '3')
    """
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, Fraction):
        if value.denominator == 1:
            return f"{value.numerator:,}"
        value = float(value)
    text = f"{value:,.4f}".rstrip("0").rstrip(".")
    return text or "0"


@dataclass(frozen=True)
class Explanation:
    """One derived number: `quantity = formula = substituted = value`.
    >>> print(Explanation("weight params", "Cout·Cin·kh·kw", "10·4·3·3", 360).text())
    weight params = Cout·Cin·kh·kw = 10·4·3·3 = 360
    """

    quantity: str
    formula: str
    substituted: str
    value: int | float
    scope: str = ""

    def text(self) -> str:
        """The derivation as one line of text."""
        prefix = f"[{self.scope}] " if self.scope else ""
        if self.substituted == fmt(self.value) or self.formula == self.substituted:
            return f"{prefix}{self.quantity} = {self.formula} = {fmt(self.value)}"
        return f"{prefix}{self.quantity} = {self.formula} = {self.substituted} = {fmt(self.value)}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return {
            "scope": self.scope,
            "quantity": self.quantity,
            "formula": self.formula,
            "substituted": self.substituted,
            "value": self.value,
        }

    def __str__(self) -> str:
        return self.text()
