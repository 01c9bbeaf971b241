"""Text metrics of the drawings: DejaVu advance widths, the font every PNG is rendered with.

Layout needs the width of a label before anything is drawn. The widths here are the fonts' own advance
widths (in em, per character, for DejaVu Sans regular / bold / oblique / bold oblique and DejaVu Sans
Mono), read once from the font files matplotlib ships and kept in `font_metrics.json`, so the SVG is laid
out with the standard library alone and the PNG (rendered in the same fonts) matches the layout.
`python docs/make_font_metrics.py` regenerates the table (needs the `viz` extra).

>>> round(text_width("abc", 10), 3), text_width("abc", 10, mono=True) == text_width("xyz", 10, mono=True)
(17.974, True)
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from pathlib import Path
from typing import Any

#: Font family names as matplotlib and SVG know them.
SANS, MONO = "DejaVu Sans", "DejaVu Sans Mono"
#: Style key → font file in matplotlib's bundled fonts.
FONT_FILES: dict[str, str] = {
    "sans": "DejaVuSans.ttf",
    "sans-bold": "DejaVuSans-Bold.ttf",
    "sans-italic": "DejaVuSans-Oblique.ttf",
    "sans-bold-italic": "DejaVuSans-BoldOblique.ttf",
    "mono": "DejaVuSansMono.ttf",
    "mono-bold": "DejaVuSansMono-Bold.ttf",
}
#: Characters measured: printable ASCII and the symbols convwise's figures print.
CHARACTERS = "".join(chr(c) for c in range(32, 127)) + "§²·×Σαρᵢ—–…←→−≤≥≈÷⊛⋮⋯Δ•✓"
#: Where the middle of a line of text is, above its baseline (em): half of DejaVu's ascent + descent.
CENTRE_ABOVE_BASELINE = (1901 - 483) / 2 / 2048


def style(*, mono: bool = False, bold: bool = False, italic: bool = False) -> str:
    """The style key of a text: sans, sans-bold, sans-italic, sans-bold-italic, mono or mono-bold."""
    if mono:
        return "mono-bold" if bold else "mono"
    return "sans" + ("-bold" if bold else "") + ("-italic" if italic else "")


@functools.cache
def _table() -> dict[str, Any]:
    return json.loads(resources.files("convwise.viz").joinpath("font_metrics.json").read_text("utf-8"))


def text_width(
    text: str, size: float, *, mono: bool = False, bold: bool = False, italic: bool = False
) -> float:
    """Advance width of `text` at `size` points (one user unit each), without kerning.

    A character outside the table counts as the font's widest measured digit-or-letter (`default`).
    """
    entry = _table()[style(mono=mono, bold=bold, italic=italic)]
    widths, default = entry["widths"], entry["default"]
    return size * sum(widths.get(ch, default) for ch in text)


def measure() -> dict[str, Any]:
    """Read the advance widths of `CHARACTERS` from matplotlib's DejaVu fonts (the `viz` extra).

    Raises:
        MissingDependencyError: without matplotlib.
    """
    from convwise.core.errors import missing_extra

    try:
        import matplotlib
        from matplotlib.ft2font import FT2Font
    except ImportError:
        raise missing_extra("matplotlib", "viz", "measuring the fonts") from None
    from matplotlib import ft2font

    flags = getattr(ft2font, "LoadFlags", None)
    no_hinting = flags.NO_HINTING if flags is not None else ft2font.LOAD_NO_HINTING
    folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    out: dict[str, Any] = {}
    for key, name in FONT_FILES.items():
        font = FT2Font(str(folder / name))
        em = font.units_per_EM
        font.set_size(em, 72)  # one point per font unit
        widths = {
            ch: round(font.load_char(ord(ch), flags=no_hinting).linearHoriAdvance / 65536 / em, 5)
            for ch in CHARACTERS
            if font.get_char_index(ord(ch))
        }
        default = max(widths[c] for c in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")
        out[key] = {"file": name, "default": default, "widths": widths}
    return out
