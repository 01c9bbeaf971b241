"""A tiny vector canvas: shapes recorded once, rendered as hand-written SVG text or as a PNG via matplotlib.

Coordinates are SVG user units (y grows downwards); one unit is one point in the PNG, so a canvas of
W×H units saved at `scale` s is exactly round(W·s)×round(H·s) pixels. Only the standard library is
needed for SVG; matplotlib (the `viz` extra) is imported lazily for PNG.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from convwise.core.errors import config_error, missing_extra
from convwise.fileio import atomic_path, atomic_write_text

FONT = "DejaVu Sans, Helvetica, Arial, sans-serif"
MONO = "DejaVu Sans Mono, Menlo, Consolas, monospace"


def _num(v: float) -> str:
    text = f"{v:.2f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


@dataclass
class Shape:
    """One recorded primitive: `kind` in rect, line, polygon, circle, text; `attrs` its parameters."""

    kind: str
    attrs: dict[str, Any]


@dataclass
class Canvas:
    """A list of shapes on a `width`×`height` page with a background colour."""

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
        """An axis-aligned rectangle with top-left (x, y)."""
        self.shapes.append(Shape("rect", _attrs(locals())))

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
        """A straight line, optionally ending in an arrow head at (x2, y2)."""
        self.shapes.append(Shape("line", _attrs(locals())))

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
        self.shapes.append(Shape("polygon", _attrs(locals())))

    def circle(
        self, x: float, y: float, r: float, *, fill: str = "#000000", stroke: str = "none", width: float = 1.0
    ) -> None:
        """A circle centred on (x, y)."""
        self.shapes.append(Shape("circle", _attrs(locals())))

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
        """One line of text, vertically centred on y; `anchor` is start, middle or end."""
        self.shapes.append(Shape("text", _attrs(locals())))

    def shift(self, start: int, dx: float, dy: float = 0.0) -> None:
        """Move the shapes recorded from index `start` on by (dx, dy)."""
        for s in self.shapes[start:]:
            a = s.attrs
            if s.kind == "line":
                a["x1"] += dx
                a["x2"] += dx
                a["y1"] += dy
                a["y2"] += dy
            elif s.kind == "polygon":
                a["points"] = [(x + dx, y + dy) for x, y in a["points"]]
            else:
                a["x"] += dx
                a["y"] += dy

    # ------------------------------------------------------------------ SVG
    def to_svg(self) -> str:
        """The drawing as a standalone SVG document (text)."""
        w, h = _num(self.width), _num(self.height)
        out = [
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" '
            f'font-family="{FONT}">'
        ]
        if self.title:
            out.append(f"<title>{escape(self.title)}</title>")
        out.append(
            '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
            'markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" '
            'fill="context-stroke"/></marker></defs>'
        )
        out.append(f'<rect width="100%" height="100%" fill="{self.background}"/>')
        for s in self.shapes:
            out.append(_svg_shape(s))
        out.append("</svg>")
        return "\n".join(out) + "\n"

    # ------------------------------------------------------------------ PNG
    def to_png(self, path: str | Path, *, scale: float = 2.0) -> Path:
        """Render with matplotlib to a PNG of round(width·scale)×round(height·scale) pixels.

        Raises:
            MissingDependencyError: if matplotlib is not installed.
        """
        try:
            import matplotlib

            matplotlib.use("Agg", force=False)
            import matplotlib.pyplot as plt
            from matplotlib import patches
        except ImportError:
            raise missing_extra("matplotlib", "viz", "PNG output") from None
        if scale <= 0:
            raise config_error("`scale` must be positive.", scale=scale)
        fig = plt.figure(figsize=(self.width / 72.0, self.height / 72.0), dpi=72.0 * scale)
        try:
            ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
            ax.set_xlim(0, self.width)
            ax.set_ylim(self.height, 0)
            ax.set_axis_off()
            fig.patch.set_facecolor(self.background)
            for z, s in enumerate(self.shapes):
                _mpl_shape(ax, patches, s, z)
            path = Path(path)
            with atomic_path(path) as tmp:
                fig.savefig(tmp, format="png", dpi=72.0 * scale, facecolor=self.background)
        finally:
            plt.close(fig)
        return path

    def save(self, path: str | Path, *, scale: float = 2.0) -> Path:
        """Write SVG or PNG, chosen by the suffix of `path`.

        Raises:
            ConfigError: for a suffix other than .svg or .png.
        """
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix == ".svg":
            atomic_write_text(self.to_svg(), path)
            return path
        if suffix == ".png":
            return self.to_png(path, scale=scale)
        raise config_error("The output file must end in .svg or .png.", output=str(path))


def _attrs(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if k != "self"}


def _paint(a: dict[str, Any]) -> str:
    parts = []
    if "fill" in a:
        parts.append(f'fill="{a["fill"]}"')
    if a.get("stroke", "none") != "none":
        parts.append(f'stroke="{a["stroke"]}" stroke-width="{_num(a["width"])}"')
    if a.get("opacity", 1.0) != 1.0:
        parts.append(f'opacity="{_num(a["opacity"])}"')
    if a.get("dash"):
        parts.append(f'stroke-dasharray="{a["dash"]}"')
    return " ".join(parts)


def _svg_shape(s: Shape) -> str:
    a = s.attrs
    if s.kind == "rect":
        rx = f' rx="{_num(a["rx"])}"' if a["rx"] else ""
        return (
            f'<rect x="{_num(a["x"])}" y="{_num(a["y"])}" width="{_num(a["w"])}" height="{_num(a["h"])}"'
            f"{rx} {_paint(a)}/>"
        )
    if s.kind == "line":
        marker = ' marker-end="url(#arrow)"' if a["arrow"] else ""
        return (
            f'<line x1="{_num(a["x1"])}" y1="{_num(a["y1"])}" x2="{_num(a["x2"])}" y2="{_num(a["y2"])}" '
            f"{_paint(a | {'fill': 'none'})}{marker}/>"
        )
    if s.kind == "polygon":
        pts = " ".join(f"{_num(x)},{_num(y)}" for x, y in a["points"])
        return f'<polygon points="{pts}" {_paint(a)}/>'
    if s.kind == "circle":
        return f'<circle cx="{_num(a["x"])}" cy="{_num(a["y"])}" r="{_num(a["r"])}" {_paint(a)}/>'
    family = f' font-family="{MONO}"' if a["mono"] else ""
    style = ' font-style="italic"' if a["italic"] else ""
    weight = f' font-weight="{a["weight"]}"' if a["weight"] != "normal" else ""
    return (
        f'<text x="{_num(a["x"])}" y="{_num(a["y"])}" font-size="{_num(a["size"])}" '
        f'text-anchor="{a["anchor"]}" dominant-baseline="central" fill="{a["color"]}"'
        f"{family}{weight}{style}>{escape(a['text'])}</text>"
    )


def _mpl_color(c: str) -> Any:
    return "none" if c == "none" else c


def _mpl_dash(dash: str) -> Any:
    if not dash:
        return "solid"
    nums = [float(v) for v in dash.replace(",", " ").split()]
    return (0, tuple(nums))


def _mpl_shape(ax: Any, patches: Any, s: Shape, z: int) -> None:
    a = s.attrs
    if s.kind == "rect":
        style = f"round,pad=0,rounding_size={a['rx']}" if a["rx"] else "square,pad=0"
        ax.add_patch(
            patches.FancyBboxPatch(
                (a["x"], a["y"]),
                a["w"],
                a["h"],
                boxstyle=style,
                facecolor=_mpl_color(a["fill"]),
                edgecolor=_mpl_color(a["stroke"]),
                linewidth=a["width"] if a["stroke"] != "none" else 0,
                alpha=a["opacity"] if a["opacity"] != 1.0 else None,
                linestyle=_mpl_dash(a["dash"]),
                zorder=z,
            )
        )
    elif s.kind == "line":
        if a["arrow"]:
            ax.annotate(
                "",
                xy=(a["x2"], a["y2"]),
                xytext=(a["x1"], a["y1"]),
                arrowprops={
                    "arrowstyle": "-|>",
                    "color": a["stroke"],
                    "lw": a["width"],
                    "linestyle": _mpl_dash(a["dash"]),
                    "shrinkA": 0,
                    "shrinkB": 0,
                    "mutation_scale": 10,
                },
                zorder=z,
            )
        else:
            ax.plot(
                [a["x1"], a["x2"]],
                [a["y1"], a["y2"]],
                color=a["stroke"],
                linewidth=a["width"],
                linestyle=_mpl_dash(a["dash"]),
                alpha=a["opacity"],
                solid_capstyle="butt",
                zorder=z,
            )
    elif s.kind == "polygon":
        ax.add_patch(
            patches.Polygon(
                a["points"],
                closed=True,
                facecolor=_mpl_color(a["fill"]),
                edgecolor=_mpl_color(a["stroke"]),
                linewidth=a["width"] if a["stroke"] != "none" else 0,
                alpha=a["opacity"] if a["opacity"] != 1.0 else None,
                zorder=z,
            )
        )
    elif s.kind == "circle":
        ax.add_patch(
            patches.Circle(
                (a["x"], a["y"]),
                a["r"],
                facecolor=_mpl_color(a["fill"]),
                edgecolor=_mpl_color(a["stroke"]),
                linewidth=a["width"] if a["stroke"] != "none" else 0,
                zorder=z,
            )
        )
    else:
        ax.text(
            a["x"],
            a["y"],
            a["text"],
            fontsize=a["size"],
            ha={"start": "left", "middle": "center", "end": "right"}[a["anchor"]],
            va="center_baseline",
            color=a["color"],
            fontweight=a["weight"],
            fontstyle="italic" if a["italic"] else "normal",
            family="monospace" if a["mono"] else "sans-serif",
            zorder=z,
        )


def text_width(text: str, size: float, *, mono: bool = False) -> float:
    """Approximate rendered width of `text` in user units (for layout; DejaVu Sans metrics)."""
    return len(text) * size * (0.63 if mono else 0.6)
