"""Validation of integer arguments shared by every spec: positive ints, per-axis pairs, dtypes."""

from __future__ import annotations

from typing import Any

from convwise.core.errors import config_error

Pair = tuple[int, int]

#: Bytes per element of the dtypes convwise can size tensors in.
DTYPE_BYTES: dict[str, int] = {
    "float64": 8,
    "float32": 4,
    "float16": 2,
    "bfloat16": 2,
    "int32": 4,
    "int8": 1,
    "uint8": 1,
}


def is_int(value: Any) -> bool:
    """True for real integers (``bool`` is not accepted as an integer)."""
    return isinstance(value, int) and not isinstance(value, bool)


def positive_int(name: str, value: Any) -> int:
    """Return `value` if it is an integer ≥ 1 (not a bool), else raise a ConfigError naming `name`.

    The one check of a positive integer argument, with the one message ("`name` must be a positive
    integer. Received: name=value").

    >>> positive_int("groups", 4)
    4
    >>> positive_int("groups", 0)
    Traceback (most recent call last):
    ...
    convwise.core.errors.ConfigError: `groups` must be a positive integer. Received: groups=0.
    """
    if not is_int(value) or value < 1:
        raise config_error(f"`{name}` must be a positive integer.", **{name: value})
    return int(value)


def non_negative_int(name: str, value: Any) -> int:
    """Return `value` if it is an integer ≥ 0 (not a bool), else raise a ConfigError naming `name`.

    >>> non_negative_int("num_classes", 0)
    0
    """
    if not is_int(value) or value < 0:
        raise config_error(f"`{name}` must be a non-negative integer.", **{name: value})
    return int(value)


def pair(name: str, value: Any, *, minimum: int = 1) -> Pair:
    """Normalise an int or a 2-sequence of ints into an (height, width) pair, each ≥ `minimum`."""
    kind = "positive integer" if minimum == 1 else f"integer ≥ {minimum}"
    if is_int(value):
        items: tuple[Any, ...] = (value, value)
    elif isinstance(value, (tuple, list)) and len(value) == 2:
        items = tuple(value)
    else:
        raise config_error(f"`{name}` must be a {kind} or a pair (height, width) of them.", **{name: value})
    if not all(is_int(v) and v >= minimum for v in items):
        raise config_error(f"`{name}` must be a {kind} or a pair (height, width) of them.", **{name: value})
    return (int(items[0]), int(items[1]))


def dtype_bytes(dtype: str) -> int:
    """Bytes per element of `dtype` (a name such as 'float32')."""
    name = dtype.removeprefix("torch.")
    if name not in DTYPE_BYTES:
        raise config_error(f"`dtype` must be one of {', '.join(DTYPE_BYTES)}.", dtype=dtype)
    return DTYPE_BYTES[name]


def chw(name: str, value: Any) -> tuple[int, int, int]:
    """Validate an input shape (channels, height, width) of positive integers."""
    if (
        not isinstance(value, (tuple, list))
        or len(value) != 3
        or not all(is_int(v) and v >= 1 for v in value)
    ):
        raise config_error(
            f"`{name}` must be three positive integers (channels, height, width).", **{name: value}
        )
    return (int(value[0]), int(value[1]), int(value[2]))
