"""Regenerate the figures of docs/variants.md: one SVG per convolution variant, drawn by `convwise draw`.

Run from the repository root:  python docs/make_figures.py  [--png]
Every figure is the worked example of docs/cost-model.md (4×5×5 input, 10 output channels, 3×3 kernel) unless the
variant needs another shape to show its point (stride, dilation, depth multiplier, a big layer).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from convwise.cli.main import main

FIGURES = Path(__file__).resolve().parent / "figures"

#: file stem → `convwise draw` arguments.
VARIANTS: dict[str, list[str]] = {
    "standard": ["standard", "--input", "4x5x5", "--out", "10", "--kernel", "3"],
    "grouped": ["grouped", "--input", "4x5x5", "--out", "10", "--kernel", "3", "--groups", "2"],
    "depthwise": ["depthwise", "--input", "4x5x5", "--kernel", "3"],
    "depthwise-multiplier": ["depthwise", "--input", "3x5x5", "--kernel", "3", "--multiplier", "2"],
    "pointwise": ["pointwise", "--input", "4x3x3", "--out", "10"],
    "separable": ["separable", "--input", "4x5x5", "--out", "10", "--kernel", "3"],
    "separable-keras": [
        "separable", "--input", "4x5x5", "--out", "10", "--kernel", "3", "--bias-policy", "keras",
    ],
    "grouped-separable": [
        "grouped-separable", "--input", "4x5x5", "--out", "10", "--kernel", "3", "--groups", "2",
    ],
    "dilated": ["standard", "--input", "4x5x5", "--out", "10", "--kernel", "3", "--dilation", "2"],
    "strided-same": [
        "standard", "--input", "3x7x7", "--out", "4", "--kernel", "3", "--stride", "2", "--padding", "same",
    ],
    "strided-10x4": ["standard", "--input", "1x34x13", "--out", "128", "--kernel", "10x4", "--stride", "3x2"],
    "mobilenet-block": [
        "separable", "--input", "32x112x112", "--out", "64", "--kernel", "3", "--padding", "same",
        "--bias-policy", "none",
    ],
}


def make(png: bool = False) -> list[Path]:
    """Write every figure (SVG, and PNG at scale 1 with `png`); returns the paths written."""
    FIGURES.mkdir(parents=True, exist_ok=True)
    written = []
    for stem, args in VARIANTS.items():
        outs = [FIGURES / f"{stem}.svg"] + ([FIGURES / f"{stem}.png"] if png else [])
        cmd = ["draw", *args]
        for out in outs:
            cmd += ["-o", str(out)]
        if main([*cmd, "--scale", "1"]) != 0:
            raise SystemExit(f"convwise {' '.join(cmd)} failed")
        written += outs
    return written


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--png", action="store_true", help="also write PNGs (scale 1)")
    make(parser.parse_args().png)
