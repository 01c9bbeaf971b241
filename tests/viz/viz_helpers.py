"""Helpers for the viz tests: parse SVG text, read a PNG's size from its header."""

from __future__ import annotations

import struct
import xml.etree.ElementTree as ET
from pathlib import Path

SVG = "{http://www.w3.org/2000/svg}"


def svg_texts(svg: str) -> list[str]:
    """Every <text> string of an SVG document (parsing it, so malformed SVG fails)."""
    root = ET.fromstring(svg)
    assert root.tag == SVG + "svg"
    return [t.text or "" for t in root.iter(SVG + "text")]


def svg_size(svg: str) -> tuple[float, float]:
    """(width, height) attributes of the root element."""
    root = ET.fromstring(svg)
    return float(root.get("width")), float(root.get("height"))


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) from the IHDR chunk of a PNG file."""
    data = path.read_bytes()[:32]
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG file"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def png_pixels(path: Path) -> np.ndarray:  # noqa: F821 (numpy imported lazily)
    """The RGB pixels (H, W, 3) of a PNG as uint8, decoded by matplotlib (not by the code under test)."""
    import matplotlib.image
    import numpy as np

    image = matplotlib.image.imread(str(path))
    if image.dtype != np.uint8:
        image = np.round(image * 255).astype(np.uint8)
    return image[..., :3]


def hex_rgb(color: str) -> tuple[int, int, int]:
    """'#4e79a7' → (78, 121, 167)."""
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)


def colour_count(pixels: np.ndarray, color: str, tol: int = 6) -> int:  # noqa: F821
    """How many pixels are within `tol` of `color` on every channel."""
    import numpy as np

    diff = np.abs(pixels.astype(int) - np.array(hex_rgb(color)))
    return int((diff.max(axis=-1) <= tol).sum())
