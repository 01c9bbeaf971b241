"""The drawings' text metrics are the fonts' own: the shipped table against matplotlib's DejaVu files."""

from __future__ import annotations

import pytest

from convwise.viz.fonts import MONO, SANS, _table, measure, text_width


def test_shipped_table_is_the_fonts_table() -> None:
    pytest.importorskip("matplotlib", reason="the `viz` extra (matplotlib) ships the DejaVu fonts")
    assert measure() == _table(), "stale: run python docs/make_font_metrics.py"


@pytest.mark.parametrize(
    ("text", "size", "mono", "bold"),
    [
        ("input 4×5×5 (C×H×W)", 11.5, False, True),
        ("params 90 · multiplications 684", 12.0, False, False),
        ("depthwise mults  = Cout·Ho·Wo·(Cin/g)·kh·kw = 4·3·3·(4/4)·3·3 = 324", 10.5, True, False),
    ],
)
def test_widths_match_matplotlibs_own_layout(text: str, size: float, mono: bool, bold: bool) -> None:
    """Oracle: the width matplotlib's renderer gives the same string in the same font (kerning aside)."""
    pytest.importorskip("matplotlib", reason="the `viz` extra (matplotlib) is the oracle")
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextToPath

    prop = FontProperties(family=MONO if mono else SANS, size=size, weight="bold" if bold else "normal")
    width, _, _ = TextToPath().get_text_width_height_descent(text, prop, ismath=False)
    assert text_width(text, size, mono=mono, bold=bold) == pytest.approx(width, rel=0.02)
