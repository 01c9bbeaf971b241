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
