"""The canvas writes parseable SVG and PNGs of exactly the size it promises."""

from __future__ import annotations

from pathlib import Path

import pytest
from viz_helpers import colour_count, hex_rgb, png_pixels, png_size, svg_size, svg_texts

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


@pytest.mark.parametrize("scale", [1.0, 2.0])
def test_png_pixels_show_the_shapes_where_they_were_drawn(tmp_path: Path, scale: float) -> None:
    px = png_pixels(small_canvas().save(tmp_path / "c.png", scale=scale))
    at = lambda x, y: tuple(int(v) for v in px[round(y * scale), round(x * scale)])  # noqa: E731
    assert at(35, 25) == hex_rgb("#4e79a7")  # inside the rectangle: its fill
    r, g, b = at(120, 20)  # inside the half-transparent triangle: #f28e2b over white
    assert abs(r - 248) <= 3 and abs(g - 198) <= 3 and abs(b - 149) <= 3
    assert at(190, 110) == (255, 255, 255) and at(5, 100) == (255, 255, 255)  # background
    text = px[round(88 * scale) : round(104 * scale), round(60 * scale) : round(140 * scale)]
    assert (text.max(axis=-1) < 100).sum() > 20 * scale  # dark glyphs of the label
    assert colour_count(px, "#4e79a7") >= 0.8 * 50 * 30 * scale * scale  # the rectangle's area, not a dot
