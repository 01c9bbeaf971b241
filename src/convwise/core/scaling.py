"""MobileNet's width multiplier α and resolution multiplier ρ, with named rounding policies.

Rounding of α·C:
- ``paper``: ``int(α·C)`` (the MobileNet v1 paper and `keras.applications.MobileNet`);
- ``tf``: round to the nearest multiple of 8, at least 8, never below 90 % of α·C (TensorFlow's
  `_make_divisible`, as in MobileNet v2 and later).

α is taken as the exact decimal it is written as (0.75 → 3/4), so α·C never suffers float rounding.

>>> from convwise.core.scaling import exact, make_divisible, resolution_multiplier, scale_channels
>>> exact(0.75), scale_channels(32, 0.75), make_divisible(20), resolution_multiplier(160)
(Fraction(3, 4), 24, 24, Fraction(5, 7))
"""

from __future__ import annotations

from fractions import Fraction
from typing import Literal

from convwise.core.errors import config_error
from convwise.core.validate import positive_int

Rounding = Literal["paper", "tf"]
ROUNDINGS: tuple[str, ...] = ("paper", "tf")


def exact(value: float | int | Fraction | str, name: str = "width_multiplier") -> Fraction:
    """The exact positive rational a multiplier stands for (floats read through their shortest repr)."""
    if isinstance(value, bool):
        raise config_error(f"`{name}` must be a positive number.", **{name: value})
    try:
        frac = (
            Fraction(value)
            if isinstance(value, (int, Fraction))
            else Fraction(repr(value) if isinstance(value, float) else value)
        )
    except (ValueError, ZeroDivisionError, TypeError):
        raise config_error(f"`{name}` must be a positive number.", **{name: value}) from None
    if frac <= 0:
        raise config_error(f"`{name}` must be a positive number.", **{name: value})
    return frac


def make_divisible(value: Fraction | float, divisor: int = 8, min_value: int | None = None) -> int:
    """TensorFlow's `_make_divisible`: nearest multiple of `divisor`, ≥ min_value, ≥ 90 % of value."""
    divisor = positive_int("divisor", divisor)
    v = Fraction(value)
    floor_min = divisor if min_value is None else min_value
    new = max(floor_min, int(v + Fraction(divisor, 2)) // divisor * divisor)
    if new < Fraction(9, 10) * v:
        new += divisor
    return new


def scale_channels(
    channels: int, width_multiplier: float | Fraction, rounding: Rounding = "paper", divisor: int = 8
) -> int:
    """Channels after the width multiplier α with the given rounding policy (at least 1)."""
    c = positive_int("channels", channels)
    alpha = exact(width_multiplier)
    if rounding == "paper":
        return max(1, int(alpha * c))
    if rounding == "tf":
        return make_divisible(alpha * c, divisor)
    raise config_error(f"`rounding` must be one of {', '.join(ROUNDINGS)}.", rounding=rounding)


def scale_resolution(resolution: int, resolution_multiplier: float | Fraction) -> int:
    """Input side after the resolution multiplier ρ: round(ρ·side), halves rounded up."""
    side = positive_int("resolution", resolution)
    rho = exact(resolution_multiplier, "resolution_multiplier")
    scaled = int(rho * side + Fraction(1, 2))
    if scaled < 1:
        raise config_error(
            "`resolution_multiplier` leaves no pixels.",
            resolution=side,
            resolution_multiplier=resolution_multiplier,
        )
    return scaled


def resolution_multiplier(resolution: int, base: int = 224) -> Fraction:
    """ρ for a given input side relative to `base` (224 for MobileNet), exact."""
    return Fraction(positive_int("resolution", resolution), positive_int("base", base))
