"""Variant figures: parseable SVG, PNG of the promised size, every printed number checked against torch."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import torch
from torch import nn
from viz_helpers import SVG, colour_count, hex_rgb, png_pixels, png_size, svg_size, svg_texts

from convwise.cli.main import main
from convwise.core import fmt, make_spec
from convwise.viz.draw import draw_layer
from convwise.viz.panels import PALETTE


def _torch_reference(kind: str, cin: int, cout: int, k: int, shape: tuple[int, int, int], **kw: int) -> tuple:
    """(params, output shape, multiplications) of the same layer built from plain torch modules."""
    stride, dilation, groups, padding = (
        kw.get("stride", 1),
        kw.get("dilation", 1),
        kw.get("groups", 1),
        kw.get("padding", 0),
    )
    if kind in ("standard", "grouped"):
        convs = [nn.Conv2d(cin, cout, k, stride, padding, dilation, groups if kind == "grouped" else 1)]
    elif kind == "depthwise":
        convs = [nn.Conv2d(cin, cout, k, stride, padding, dilation, cin)]
    else:  # separable / grouped-separable, PyTorch biases on both stages
        g = groups if kind == "grouped-separable" else 1
        convs = [nn.Conv2d(cin, cin, k, stride, padding, dilation, cin), nn.Conv2d(cin, cout, 1, groups=g)]
    x = torch.zeros(1, *shape)
    mults = 0
    with torch.no_grad():
        for conv in convs:
            x = conv(x)
            mults += x.numel() * conv.weight[0].numel()  # each output element: (Cin/g)·kh·kw products
    params = sum(p.numel() for c in convs for p in c.parameters())
    return params, tuple(x.shape), mults


CASES = [
    ("standard", 4, 10, 3, (4, 5, 5), {}),
    ("grouped", 4, 10, 3, (4, 5, 5), {"groups": 2}),
    ("depthwise", 4, 8, 3, (4, 6, 6), {"stride": 2, "padding": 1}),
    ("separable", 4, 10, 3, (4, 5, 5), {}),
    ("grouped-separable", 4, 10, 3, (4, 5, 5), {"groups": 2}),
    ("standard", 4, 10, 3, (4, 5, 5), {"dilation": 2}),
    ("standard", 1, 128, 3, (1, 34, 13), {"stride": 2}),
    ("separable", 32, 64, 3, (32, 112, 112), {"stride": 2, "padding": 1}),
]


@pytest.mark.parametrize(("kind", "cin", "cout", "k", "shape", "kw"), CASES)
def test_figure_numbers_match_torch(kind: str, cin: int, cout: int, k: int, shape: tuple, kw: dict) -> None:
    spec_kw = {key: v for key, v in kw.items() if key != "padding"}
    spec = make_spec(kind, cin, cout, k, padding=kw.get("padding", "valid"), **spec_kw)
    svg = draw_layer(spec, shape).to_svg()
    texts = svg_texts(svg)
    joined = "\n".join(texts)
    params, out_shape, mults = _torch_reference(kind, cin, cout, k, shape, **kw)
    assert f"params {fmt(params)} ·" in joined
    assert f"multiplications {fmt(mults)} ·" in joined
    assert "→ output " + "×".join(map(str, out_shape)) in joined
    assert f"input {'×'.join(map(str, shape))}" in joined  # the input panel's label


def test_spec_worked_examples_are_printed() -> None:
    """SPEC §4: 4×5×5 → 10, k3 separable is 90 params and 684 mults (324 + 360: not the erratum 680)."""
    texts = "\n".join(svg_texts(draw_layer(make_spec("separable", 4, 10, 3), (4, 5, 5)).to_svg()))
    assert "params 90 · multiplications 684" in texts
    assert re.search(r"depthwise mults +=.* = 324$", texts, re.M)
    assert re.search(r"pointwise mults +=.* = 360$", texts, re.M)


def _fills(svg: str) -> set[str]:
    """Outline colours of the rectangles (slices and filters are outlined in their group's colour)."""
    return {r.get("stroke") for r in ET.fromstring(svg).iter(SVG + "rect")}


def test_filters_are_coloured_by_group() -> None:
    strong = set(PALETTE)
    one = _fills(draw_layer(make_spec("standard", 4, 8, 3), (4, 5, 5)).to_svg()) & strong
    two = _fills(draw_layer(make_spec("grouped", 4, 8, 3, groups=2), (4, 5, 5)).to_svg())
    assert PALETTE[1] not in one  # one group: one colour family
    assert {PALETTE[0], PALETTE[1]} <= two
    dw = _fills(draw_layer(make_spec("depthwise", 4, 4, 3), (4, 5, 5)).to_svg())
    assert set(PALETTE[:4]) <= dw  # one group per channel


def test_dilated_taps_are_drawn_where_the_kernel_samples() -> None:
    """3×3 taps at dilation 2 are 2 cells apart: 9 red dots spanning 5 cells."""
    svg = draw_layer(make_spec("standard", 1, 1, 3, dilation=2), (1, 7, 7)).to_svg()
    dots = [c for c in ET.fromstring(svg).iter(SVG + "circle")]
    assert len(dots) == 9
    xs = sorted({float(c.get("cx")) for c in dots})
    ys = sorted({float(c.get("cy")) for c in dots})
    assert len(xs) == len(ys) == 3
    assert xs[1] - xs[0] == pytest.approx(xs[2] - xs[1])
    cell = (xs[1] - xs[0]) / 2  # dilation 2: two cells between taps
    assert cell > 4


def test_big_channel_counts_are_capped_and_say_so() -> None:
    svg = draw_layer(make_spec("standard", 128, 256, 3), (128, 9, 5)).to_svg()
    text = "\n".join(svg_texts(svg))
    assert "7 of 128 channel slices drawn" in text
    assert "5 of 256 filters drawn" in text
    assert len(svg) < 200_000  # capped: the figure does not grow with the channels


def test_cli_draw_writes_svg_and_png(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    svg_path, png_path = tmp_path / "f.svg", tmp_path / "f.png"
    code = main(
        [
            "draw",
            "grouped",
            "--input",
            "4x5x5",
            "--out",
            "10",
            "--kernel",
            "3",
            "--groups",
            "2",
            "-o",
            str(svg_path),
            "-o",
            str(png_path),
            "--scale",
            "1",
        ]
    )
    assert code == 0
    w, h = svg_size(svg_path.read_text())
    assert png_size(png_path) == (round(w), round(h))
    px = png_pixels(png_path)
    background = int((px.min(axis=-1) >= 250).sum())
    assert 0.2 * px.shape[0] * px.shape[1] < background < 0.97 * px.shape[0] * px.shape[1]  # drawn, not blank
    assert (px.max(axis=-1) < 80).sum() > 200  # dark text and outlines
    # the SVG's colours (the two groups' tints, the taps) cover areas of the PNG: the same picture
    fills = {c for c in re.findall(r'fill="(#[0-9a-fA-F]{6})"', svg_path.read_text())}
    chromatic = [c for c in fills if max(hex_rgb(c)) - min(hex_rgb(c)) > 40]
    shown = [c for c in chromatic if colour_count(px, c) > 20]
    assert len(shown) >= 4, {c: colour_count(px, c) for c in chromatic}
    assert any(hex_rgb(c)[2] > hex_rgb(c)[0] for c in shown)  # the first group's blue
    assert any(hex_rgb(c)[0] > hex_rgb(c)[2] + 40 for c in shown)  # the second group's orange
    assert "params 190 · multiplications 1,620" in "\n".join(svg_texts(svg_path.read_text()))


def test_cli_draw_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(
            [
                "draw",
                "grouped",
                "--input",
                "4x5x5",
                "--out",
                "10",
                "--kernel",
                "3",
                "--groups",
                "3",
                "-o",
                str(tmp_path / "x.svg"),
            ]
        )
        == 2
    )
    assert "`groups` must divide `in_channels`" in capsys.readouterr().err
    assert (
        main(
            [
                "draw",
                "standard",
                "--input",
                "4x5x5",
                "--out",
                "10",
                "--kernel",
                "3",
                "-o",
                str(tmp_path / "x.jpg"),
            ]
        )
        == 2
    )
    assert "must end in .svg or .png" in capsys.readouterr().err


def test_svg_figures_need_only_the_standard_library(tmp_path: Path) -> None:
    """`convwise draw … -o x.svg` runs with torch, numpy and matplotlib blocked; PNG names the extra."""
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent(
        f"""
        import importlib.abc, sys

        class Block(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in ("torch", "numpy", "matplotlib"):
                    raise ImportError(f"blocked import of {{name}}")
                return None

        sys.meta_path.insert(0, Block())
        from convwise.cli.main import main
        args = ["draw", "separable", "--input", "4x5x5", "--out", "10", "--kernel", "3"]
        assert main([*args, "-o", {str(tmp_path / "a.svg")!r}]) == 0
        sys.exit(main([*args, "-o", {str(tmp_path / "a.png")!r}]))
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert (tmp_path / "a.svg").is_file()
    assert "PNG output needs the optional package `matplotlib`" in proc.stderr
    assert 'pip install "convwise[viz]"' in proc.stderr
