"""The canvas writes parseable SVG and PNGs of exactly the size it promises."""

from __future__ import annotations

from pathlib import Path

import pytest
from viz_helpers import png_size, svg_size, svg_texts

from convwise.core import ConfigError
from convwise.viz.canvas import Canvas


def small_canvas() -> Canvas:
    cv = Canvas(200, 120, title="a <test> & more")
    cv.rect(10, 10, 50, 30, fill="#4e79a7", stroke="#222222", rx=3, dash="3 2")
    cv.line(10, 60, 150, 60, arrow=True)
    cv.polygon([(100, 10), (140, 10), (120, 40)], fill="#f28e2b", opacity=0.5)
    cv.circle(170, 30, 6)
    cv.text(100, 100, "x < y & z", anchor="middle", mono=True, weight="bold")
    return cv


def test_svg_parses_and_escapes_text() -> None:
    svg = small_canvas().to_svg()
    assert svg_texts(svg) == ["x < y & z"]
    assert svg_size(svg) == (200.0, 120.0)


@pytest.mark.parametrize("scale", [1.0, 1.5, 2.0])
def test_png_has_the_promised_size(tmp_path: Path, scale: float) -> None:
    path = small_canvas().save(tmp_path / "c.png", scale=scale)
    assert png_size(path) == (round(200 * scale), round(120 * scale))


def test_save_rejects_other_formats(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"must end in \.svg or \.png\. Received: output="):
        small_canvas().save(tmp_path / "c.pdf")
