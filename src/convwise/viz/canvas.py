"""One drawing, two formats: shapes recorded once, fully resolved, then written as SVG or as a PNG.

A `Canvas` records primitives (rect, line, polygon, circle, text) with everything a renderer needs already
decided: arrow heads are polygons, dash patterns are numbers, text is placed on its baseline and measured
with the real font's advance widths (`convwise.viz.fonts`, DejaVu). The two writers only translate each
primitive: the SVG writer to elements (standard library only), the PNG writer to matplotlib patches in
the same DejaVu fonts (the `viz` extra, imported lazily) — so both formats show the same picture.

Coordinates are SVG user units (y grows downwards); one unit is one point in the PNG, so a canvas of
W×H units saved at `scale` s is exactly round(W·s)×round(H·s) pixels.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from convwise.core.errors import config_error, missing_extra
from convwise.fileio import atomic_paths, write_error
from convwise.viz.fonts import CENTRE_ABOVE_BASELINE, MONO, SANS, text_width

__all__ = ["Canvas", "Shape", "text_width"]

#: Font stacks of the SVG: DejaVu first (the layout's metrics), common fallbacks after.
SVG_FONTS = {False: f"{SANS}, Helvetica, Arial, sans-serif", True: f"{MONO}, Menlo, Consolas, monospace"}
_ANCHORS = {"start": "left", "middle": "center", "end": "right"}


def _num(v: float) -> str:
    text = f"{v:.2f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


def _dash(pattern: str) -> tuple[float, ...]:
    """'3 2' or '3,2' → (3.0, 2.0); '' → () (a solid line)."""
    return tuple(float(v) for v in pattern.replace(",", " ").split())


@dataclass
class Shape:
    """One recorded primitive: `kind` in rect, line, polygon, circle, text; `attrs` its parameters."""

    kind: str
    attrs: dict[str, Any]


@dataclass
class Canvas:
    """A list of shapes on a `width`×`height` page with a background colour.

    >>> cv = Canvas(120, 40)
    >>> cv.line(10, 20, 110, 20, arrow=True)  # a line and its head, a filled triangle
    >>> [s.kind for s in cv.shapes], cv.to_svg().count("<polygon")
    (['line', 'polygon'], 1)
    """

    width: float
    height: float
    background: str = "#ffffff"
    title: str = ""
    shapes: list[Shape] = field(default_factory=list)

    # ------------------------------------------------------------------ recording
    def rect(
        self,
        x: float,
        y: float,
        w: float,
        h: float,
        *,
        fill: str = "none",
        stroke: str = "none",
        width: float = 1.0,
        opacity: float = 1.0,
        rx: float = 0.0,
        dash: str = "",
    ) -> None:
        """An axis-aligned rectangle with top-left (x, y), corners rounded by `rx`."""
        self._add(
            "rect",
            x=x,
            y=y,
            w=w,
            h=h,
            fill=fill,
            stroke=stroke,
            width=width,
            opacity=opacity,
            rx=rx,
            dash=_dash(dash),
        )

    def line(
        self,
        x1: float,
        y1: float,
        x2: float,
        y2: float,
        *,
        stroke: str = "#333333",
        width: float = 1.0,
        dash: str = "",
        arrow: bool = False,
        opacity: float = 1.0,
    ) -> None:
        """A straight line, optionally ending in an arrow head (a filled triangle) at (x2, y2)."""
        length = math.hypot(x2 - x1, y2 - y1)
        head = min(4.0 + 2.5 * width, length) if arrow else 0.0
        ux, uy = ((x2 - x1) / length, (y2 - y1) / length) if length else (0.0, 0.0)
        bx, by = x2 - ux * head, y2 - uy * head  # the line stops where the head begins
        self._add(
            "line", x1=x1, y1=y1, x2=bx, y2=by, stroke=stroke, width=width, dash=_dash(dash), opacity=opacity
        )
        if head:
            half = head * 0.45
            points = [(x2, y2), (bx - uy * half, by + ux * half), (bx + uy * half, by - ux * half)]
            self.polygon(points, fill=stroke, opacity=opacity)

    def polygon(
        self,
        points: list[tuple[float, float]],
        *,
        fill: str = "none",
        stroke: str = "none",
        width: float = 1.0,
        opacity: float = 1.0,
    ) -> None:
        """A closed polygon."""
        self._add("polygon", points=list(points), fill=fill, stroke=stroke, width=width, opacity=opacity)

    def circle(
        self, x: float, y: float, r: float, *, fill: str = "#000000", stroke: str = "none", width: float = 1.0
    ) -> None:
        """A circle centred on (x, y)."""
        self._add("circle", x=x, y=y, r=r, fill=fill, stroke=stroke, width=width, opacity=1.0)

    def text(
        self,
        x: float,
        y: float,
        text: str,
        *,
        size: float = 12.0,
        anchor: str = "start",
        color: str = "#222222",
        weight: str = "normal",
        mono: bool = False,
        italic: bool = False,
    ) -> None:
        """One line of text, vertically centred on y; `anchor` is start, middle or end of its width."""
        if anchor not in _ANCHORS:
            raise config_error("`anchor` must be one of start, middle, end.", anchor=anchor)
        self._add(
            "text",
            x=x,
            y=y + CENTRE_ABOVE_BASELINE * size,
            text=text,
            size=size,
            anchor=anchor,
            color=color,
            weight=weight,
            mono=mono,
            italic=italic,
        )

    def _add(self, kind: str, **attrs: Any) -> None:
        self.shapes.append(Shape(kind, attrs))

    def shift(self, start: int, dx: float, dy: float = 0.0) -> None:
        """Move the shapes recorded from index `start` on by (dx, dy)."""
        for s in self.shapes[start:]:
            a = s.attrs
            if s.kind == "line":
                a.update(x1=a["x1"] + dx, x2=a["x2"] + dx, y1=a["y1"] + dy, y2=a["y2"] + dy)
            elif s.kind == "polygon":
                a["points"] = [(x + dx, y + dy) for x, y in a["points"]]
            else:
                a.update(x=a["x"] + dx, y=a["y"] + dy)

    # ------------------------------------------------------------------ the two formats
    def to_svg(self) -> str:
        """The drawing as a standalone SVG document (text)."""
        w, h = _num(self.width), _num(self.height)
        out = [
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" '
            f'font-family="{SVG_FONTS[False]}">'
        ]
        if self.title:
            out.append(f"<title>{escape(self.title)}</title>")
        out.append(f'<rect width="100%" height="100%" fill="{self.background}"/>')
        out += [_svg_shape(s) for s in self.shapes]
        out.append("</svg>")
        return "\n".join(out) + "\n"

    def to_png(self, path: str | Path, *, scale: float = 2.0) -> Path:
        """Render with matplotlib to a PNG of round(width·scale)×round(height·scale) pixels.

        Raises:
            MissingDependencyError: if matplotlib is not installed.
        """
        return self.save_all([path], scale=scale, formats=["png"])[0]

    def _write_png(self, file: Path, scale: float) -> None:
        import matplotlib.pyplot as plt

        fig = plt.figure(figsize=(self.width / 72.0, self.height / 72.0), dpi=72.0 * scale)
        try:
            ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
            ax.set_xlim(0, self.width)
            ax.set_ylim(self.height, 0)
            ax.set_axis_off()
            fig.patch.set_facecolor(self.background)
            for z, s in enumerate(self.shapes):
                _mpl_shape(ax, s, z)
            fig.savefig(file, format="png", dpi=72.0 * scale, facecolor=self.background)
        finally:
            plt.close(fig)

    def save(self, path: str | Path, *, scale: float = 2.0) -> Path:
        """Write SVG or PNG, chosen by the suffix of `path`.

        Raises:
            ConfigError: for a suffix other than .svg or .png.
        """
        return self.save_all([path], scale=scale)[0]

    def save_all(
        self, paths: Sequence[str | Path], *, scale: float = 2.0, formats: Sequence[str] | None = None
    ) -> list[Path]:
        """Write the drawing to every path (SVG or PNG by suffix, or as `formats` says): all files, or none.

        Every destination is checked and every file written to a temporary beside it before any is
        replaced (`convwise.fileio.atomic_paths`), so `draw -o a.svg -o /unwritable/b.png` leaves no
        a.svg behind.

        Raises:
            ConfigError: a suffix other than .svg or .png, or a scale that is not positive.
            MissingDependencyError: a PNG without matplotlib (the `viz` extra).
            WriteError: a file cannot be written (then none is).

        >>> import tempfile
        >>> canvas = Canvas(40, 20)
        >>> canvas.rect(5, 5, 30, 10, fill="#cc0000")
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     written = canvas.save_all([Path(tmp) / "a.svg", Path(tmp) / "a.png"], scale=1.0)
        ...     svg, png = written[0].read_text(), written[1].read_bytes()
        ...     [p.name for p in written], svg.count("<rect"), png[:4] == b"\\x89PNG"
        (['a.svg', 'a.png'], 2, True)
        """
        paths = [Path(p) for p in paths]
        kinds = list(formats) if formats is not None else [p.suffix.lower().lstrip(".") for p in paths]
        for path, kind in zip(paths, kinds, strict=True):
            if kind not in ("svg", "png"):
                raise config_error("The output file must end in .svg or .png.", output=str(path))
        if "png" in kinds:
            try:
                import matplotlib

                matplotlib.use("Agg", force=False)
                import matplotlib.pyplot
            except ImportError:
                raise missing_extra("matplotlib", "viz", "PNG output") from None
            if scale <= 0:
                raise config_error("`scale` must be positive.", scale=scale)
        with atomic_paths(paths) as parts:
            for path, part, kind in zip(paths, parts, kinds, strict=True):
                try:
                    if kind == "svg":
                        part.write_text(self.to_svg(), encoding="utf-8")
                    else:
                        self._write_png(part, scale)
                except OSError as exc:  # e.g. a full disk while matplotlib writes
                    raise write_error(path, exc) from None
        return paths


# ---------------------------------------------------------------------- SVG writer
def _svg_paint(a: dict[str, Any]) -> str:
    parts = [f'fill="{a.get("fill", "none")}"']
    if a.get("stroke", "none") != "none":
        parts.append(f'stroke="{a["stroke"]}" stroke-width="{_num(a["width"])}"')
    if a.get("opacity", 1.0) != 1.0:
        parts.append(f'opacity="{_num(a["opacity"])}"')
    if a.get("dash"):
        parts.append(f'stroke-dasharray="{" ".join(_num(v) for v in a["dash"])}"')
    return " ".join(parts)


def _svg_shape(s: Shape) -> str:
    a = s.attrs
    if s.kind == "rect":
        rx = f' rx="{_num(a["rx"])}"' if a["rx"] else ""
        return (
            f'<rect x="{_num(a["x"])}" y="{_num(a["y"])}" width="{_num(a["w"])}" height="{_num(a["h"])}"'
            f"{rx} {_svg_paint(a)}/>"
        )
    if s.kind == "line":
        return (
            f'<line x1="{_num(a["x1"])}" y1="{_num(a["y1"])}" x2="{_num(a["x2"])}" y2="{_num(a["y2"])}" '
            f"{_svg_paint(a)}/>"
        )
    if s.kind == "polygon":
        pts = " ".join(f"{_num(x)},{_num(y)}" for x, y in a["points"])
        return f'<polygon points="{pts}" {_svg_paint(a)}/>'
    if s.kind == "circle":
        return f'<circle cx="{_num(a["x"])}" cy="{_num(a["y"])}" r="{_num(a["r"])}" {_svg_paint(a)}/>'
    family = f' font-family="{SVG_FONTS[True]}"' if a["mono"] else ""
    style = ' font-style="italic"' if a["italic"] else ""
    weight = f' font-weight="{a["weight"]}"' if a["weight"] != "normal" else ""
    return (
        f'<text x="{_num(a["x"])}" y="{_num(a["y"])}" font-size="{_num(a["size"])}" '
        f'text-anchor="{a["anchor"]}" fill="{a["color"]}"{family}{weight}{style}>{escape(a["text"])}</text>'
    )


# ---------------------------------------------------------------------- PNG writer (matplotlib)
def _mpl_paint(a: dict[str, Any], z: int) -> dict[str, Any]:
    stroked = a.get("stroke", "none") != "none"
    return {
        "facecolor": a.get("fill", "none"),
        "edgecolor": a["stroke"] if stroked else "none",
        "linewidth": a["width"] if stroked else 0,
        "alpha": None if a.get("opacity", 1.0) == 1.0 else a["opacity"],
        "linestyle": (0, a["dash"]) if a.get("dash") else "solid",
        "zorder": z,
    }


def _mpl_shape(ax: Any, s: Shape, z: int) -> None:
    from matplotlib import patches

    a = s.attrs
    if s.kind == "rect":
        style = f"round,pad=0,rounding_size={a['rx']}" if a["rx"] else "square,pad=0"
        ax.add_patch(
            patches.FancyBboxPatch((a["x"], a["y"]), a["w"], a["h"], boxstyle=style, **_mpl_paint(a, z))
        )
    elif s.kind == "line":
        paint = _mpl_paint(a, z)
        ax.plot(
            [a["x1"], a["x2"]],
            [a["y1"], a["y2"]],
            color=a["stroke"],
            linewidth=a["width"],
            linestyle=paint["linestyle"],
            alpha=paint["alpha"],
            solid_capstyle="butt",
            zorder=z,
        )
    elif s.kind == "polygon":
        ax.add_patch(patches.Polygon(a["points"], closed=True, **_mpl_paint(a, z)))
    elif s.kind == "circle":
        ax.add_patch(patches.Circle((a["x"], a["y"]), a["r"], **_mpl_paint(a, z)))
    else:
        ax.text(
            a["x"],
            a["y"],
            a["text"],
            fontsize=a["size"],
            ha=_ANCHORS[a["anchor"]],
            va="baseline",
            color=a["color"],
            fontweight=a["weight"],
            fontstyle="italic" if a["italic"] else "normal",
            family=MONO if a["mono"] else SANS,
            zorder=z,
        )
