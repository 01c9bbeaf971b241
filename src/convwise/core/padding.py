"""Padding policies: `valid`, TensorFlow's `same` for any stride and dilation, explicit integers.

`same` follows TensorFlow/Keras: the output has ``ceil(H / s)`` rows, the total padding along an axis
is ``max((ceil(H/s) − 1)·s + d·(k − 1) + 1 − H, 0)`` and the odd pixel goes to the bottom/right. The
amount depends on the input size when the stride is above 1, so a `Padding` is resolved against a size.

>>> from convwise.core.padding import parse_padding, same_amounts, same_total
>>> same_total(5, 3, 2, 1), same_amounts(224, 3, 2, 1)  # stride 2: the odd pixel after
(2, (0, 1))
>>> parse_padding("same").resolve((5, 5), (3, 3), (2, 2), (1, 1))  # top, bottom, left, right
(1, 1, 1, 1)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from convwise.core.errors import config_error
from convwise.core.validate import Pair, is_int

PaddingKind = Literal["valid", "same", "explicit"]
PaddingMode = Literal["zeros", "reflect", "replicate", "circular"]
PADDING_MODES: tuple[str, ...] = ("zeros", "reflect", "replicate", "circular")


@dataclass(frozen=True)
class Padding:
    """A padding policy. For `explicit`, the four amounts are fixed; `valid`/`same` resolve per input."""

    kind: PaddingKind = "valid"
    top: int = 0
    bottom: int = 0
    left: int = 0
    right: int = 0
    mode: PaddingMode = "zeros"

    def __post_init__(self) -> None:
        if self.kind not in ("valid", "same", "explicit"):
            raise config_error("`padding` must be 'valid', 'same' or explicit integers.", padding=self.kind)
        if self.mode not in PADDING_MODES:
            raise config_error(
                f"`padding_mode` must be one of {', '.join(PADDING_MODES)}.", padding_mode=self.mode
            )
        amounts = (self.top, self.bottom, self.left, self.right)
        if not all(is_int(v) and v >= 0 for v in amounts):
            raise config_error("`padding` amounts must be non-negative integers.", padding=amounts)
        if self.kind != "explicit" and any(amounts):
            raise config_error(f"`padding` '{self.kind}' takes no explicit amounts.", padding=amounts)

    def resolve(self, size: Pair, kernel: Pair, stride: Pair, dilation: Pair) -> tuple[int, int, int, int]:
        """Concrete (top, bottom, left, right) amounts for an input of `size` = (height, width)."""
        if self.kind == "explicit":
            return (self.top, self.bottom, self.left, self.right)
        if self.kind == "valid":
            return (0, 0, 0, 0)
        top, bottom = same_amounts(size[0], kernel[0], stride[0], dilation[0])
        left, right = same_amounts(size[1], kernel[1], stride[1], dilation[1])
        return (top, bottom, left, right)

    @property
    def is_static(self) -> bool:
        """True when the amounts do not depend on the input size."""
        return self.kind != "same"

    def describe(self) -> str:
        """Short human form: 'valid', 'same', '1', '1x2' or 't,b,l,r' (plus the mode if not zeros)."""
        if self.kind == "explicit":
            t, b, l, r = self.top, self.bottom, self.left, self.right
            if t == b and l == r:
                text = str(t) if t == l else f"{t}x{l}"
            else:
                text = f"{t},{b},{l},{r}"
        else:
            text = self.kind
        return text if self.mode == "zeros" else f"{text} ({self.mode})"

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return {
            "kind": self.kind,
            "top": self.top,
            "bottom": self.bottom,
            "left": self.left,
            "right": self.right,
            "mode": self.mode,
        }


VALID = Padding("valid")
SAME = Padding("same")


def same_total(size: int, kernel: int, stride: int, dilation: int) -> int:
    """TensorFlow's total `same` padding along one axis."""
    out = -(-size // stride)  # ceil(size / stride)
    return max((out - 1) * stride + dilation * (kernel - 1) + 1 - size, 0)


def same_amounts(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """(before, after) `same` padding along one axis; the odd pixel goes after (bottom/right)."""
    total = same_total(size, kernel, stride, dilation)
    return (total // 2, total - total // 2)


def parse_padding(value: Any, mode: str = "zeros") -> Padding:
    """Build a `Padding` from 'valid', 'same', an int, (h, w), (top, bottom, left, right) or a `Padding`.

    Strings of the command-line forms are accepted too: '1', '1x2', '0,1,0,1'.

    Raises:
        ConfigError: for an unknown string, negative amounts or the wrong number of values.
    """
    if isinstance(value, Padding):
        return (
            value
            if mode == "zeros" or value.mode == mode
            else Padding(
                value.kind,
                value.top,
                value.bottom,
                value.left,
                value.right,
                mode,  # type: ignore[arg-type]
            )
        )
    rule = (
        "`padding` must be 'valid', 'same', a non-negative integer, 'HxW', (height, width) "
        "or (top, bottom, left, right)."
    )
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("valid", "same"):
            return Padding(text, mode=mode)  # type: ignore[arg-type]
        try:
            if "," in text:
                value = tuple(int(p) for p in text.split(","))
            elif "x" in text:
                value = tuple(int(p) for p in text.split("x"))
            else:
                value = int(text)
        except ValueError:
            raise config_error(rule, padding=value) from None
    if is_int(value):
        amounts: tuple[Any, ...] = (value, value, value, value)
    elif isinstance(value, (tuple, list)) and len(value) == 2:
        amounts = (value[0], value[0], value[1], value[1])
    elif isinstance(value, (tuple, list)) and len(value) == 4:
        amounts = tuple(value)
    else:
        raise config_error(rule, padding=value)
    if not all(is_int(v) and v >= 0 for v in amounts):
        raise config_error(rule, padding=value)
    return Padding("explicit", int(amounts[0]), int(amounts[1]), int(amounts[2]), int(amounts[3]), mode)  # type: ignore[arg-type]
