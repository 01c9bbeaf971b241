"""Parsing of the command line's shape arguments (`--input`, `--kernel`, `--padding`, …) and shape labels.

Every parser raises `ConfigError` naming the flag, the accepted forms and the text received, so the
command line prints one line and exits 2. Standard library only (and `convwise.core`).

>>> parse_input("3x224x224"), parse_input("224x224x3", channels_last=True), parse_pair("--kernel", "10x4")
((3, 224, 224), (3, 224, 224), (10, 4))
>>> parse_padding_arg("same"), parse_padding_arg("1,2,0,1"), parse_dtype("torch.float16")
('same', (1, 2, 0, 1), 'float16')
>>> parse_positive("--out", "10")
10
>>> try:
...     parse_input("3x224")
... except ValueError as exc:
...     print(str(exc).split(": ")[0], "…", str(exc).split(". ")[-1])
`--input` must be CxHxW … Received: input='3x224'.
"""

from __future__ import annotations

import re
from typing import Any

from convwise.core.errors import config_error
from convwise.core.validate import DTYPE_BYTES

#: Separators accepted between the numbers of `CxHxW`-style arguments ('x', 'X' or '×').
_SEP = re.compile(r"\s*[xX×]\s*")
_INT = re.compile(r"[+]?\d+")


def _ints(text: str, sep: re.Pattern[str] | str) -> list[int] | None:
    """The integers of `text` split on `sep`, or None if any part is not a plain decimal integer."""
    parts = sep.split(text.strip()) if isinstance(sep, re.Pattern) else text.strip().split(sep)
    if not all(_INT.fullmatch(p.strip()) for p in parts):
        return None
    return [int(p) for p in parts]


def parse_input(text: Any, *, channels_last: bool = False) -> tuple[int, int, int]:
    """`CxHxW` (or `HxWxC` with `channels_last`) → (C, H, W) of positive integers.

    Raises:
        ConfigError: not three positive integers separated by 'x'.
    """
    form, example = ("HxWxC", "224x224x3") if channels_last else ("CxHxW", "3x224x224")
    if text is None:
        raise config_error(f"`--input` is required: the input shape as {form}, e.g. {example}.", input=None)
    values = _ints(str(text), _SEP)
    if values is None or len(values) != 3 or min(values) < 1:
        raise config_error(
            f"`--input` must be {form}: three positive integers separated by 'x', e.g. {example}.",
            input=text,
        )
    if channels_last:
        h, w, c = values
        return (c, h, w)
    c, h, w = values
    return (c, h, w)


def parse_pair(flag: str, text: Any) -> int | tuple[int, int]:
    """`--kernel` / `--stride` / `--dilation`: one positive integer, or `HxW` (e.g. `10x4`).

    Raises:
        ConfigError: anything else (zero, negative, non-integer, three values).
    """
    name = flag.lstrip("-").replace("-", "_")
    values = _ints(str(text), _SEP)
    if values is None or len(values) not in (1, 2) or min(values) < 1:
        raise config_error(
            f"`{flag}` must be a positive integer or HxW of positive integers (e.g. 3 or 10x4).",
            **{name: text},
        )
    return values[0] if len(values) == 1 else (values[0], values[1])


def parse_positive(flag: str, text: Any) -> int:
    """A positive integer flag (`--out`, `--groups`, `--multiplier`, `--batch`).

    Raises:
        ConfigError: zero, negative or not an integer.
    """
    name = flag.lstrip("-").replace("-", "_")
    if text is None or not _INT.fullmatch(str(text).strip()) or int(str(text)) < 1:
        raise config_error(f"`{flag}` must be a positive integer.", **{name: text})
    return int(str(text))


def parse_padding_arg(text: Any) -> str | int | tuple[int, ...]:
    """`--padding`: 'valid', 'same', one integer, `HxW`, or `top,bottom,left,right` (non-negative).

    Raises:
        ConfigError: an unknown word, a negative amount or the wrong number of values.
    """
    raw = str(text).strip()
    low = raw.lower()
    if low in ("valid", "same"):
        return low
    if "," in raw:
        values = _ints(raw, ",")
        ok = values is not None and len(values) == 4
    else:
        values = _ints(raw, _SEP)
        ok = values is not None and len(values) in (1, 2)
    if not ok or values is None:
        raise config_error(
            "`--padding` must be 'valid', 'same', a non-negative integer, HxW, or top,bottom,left,right.",
            padding=text,
        )
    return values[0] if len(values) == 1 else tuple(values)


def parse_dtype(text: Any) -> str:
    """`--dtype`: a name from `convwise.core.DTYPE_BYTES` (float32, float16, …).

    Raises:
        ConfigError: an unknown dtype name.
    """
    name = str(text).strip().removeprefix("torch.")
    if name not in DTYPE_BYTES:
        raise config_error(f"`--dtype` must be one of {', '.join(DTYPE_BYTES)}.", dtype=text)
    return name
