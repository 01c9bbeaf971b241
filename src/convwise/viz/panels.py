"""The pieces of a variant figure: colours by group, tensor stacks with their padding, filter banks, overlays.

`Panels` draws onto a `Canvas` what `convwise.viz.draw.draw_cost` lays out: channel slices of a tensor
(the padded input, capped when large), each stage's filters coloured by group, the dilated taps of output
(0, 0) and the window one stride on. Large channel counts are capped; the caps are `DrawOptions`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from convwise.core import LayerCost, LayerSpec
from convwise.core.spec import Conv2dSpec
from convwise.viz.canvas import Canvas, text_width

#: Group colours (strong) — colour-blind friendly Tableau 10.
PALETTE: tuple[str, ...] = (
    "#4e79a7",
    "#f28e2b",
    "#59a14f",
    "#e15759",
    "#b07aa1",
    "#76b7b2",
    "#edc948",
    "#ff9da7",
    "#9c755f",
    "#bab0ac",
)
INK = "#222222"
MUTED = "#6b6b6b"
ACCENT = "#d62728"
PAD_FILL = "#eeeeee"


def tint(color: str, amount: float = 0.55) -> str:
    """`color` mixed with white (`amount` of white).

    >>> tint("#4e79a7")
    '#afc3d7'
    """
    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    mix = [round(v + (255 - v) * amount) for v in (r, g, b)]
    return "#" + "".join(f"{v:02x}" for v in mix)


def group_color(index: int) -> str:
    """Colour of group `index` (cycles through the palette).

    >>> group_color(1) == group_color(11) == PALETTE[1]
    True
    """
    return PALETTE[index % len(PALETTE)]


def shown_indices(count: int, cap: int) -> list[int | None]:
    """Indices to draw out of `count` when at most `cap` fit: the first ones, None (a gap), the last.

    >>> shown_indices(3, 4), shown_indices(10, 4)
    ([0, 1, 2], [0, 1, None, 9])
    """
    if count <= cap:
        return list(range(count))
    return [*range(cap - 2), None, count - 1]


@dataclass(frozen=True)
class DrawOptions:
    """Caps on what is drawn (the figure states when a cap applies)."""

    max_channels: int = 8
    max_filters: int = 6
    max_filter_depth: int = 6
    max_extent: float = 260.0
    max_cell: float = 22.0
    max_pixels: int = 16


class Panels:
    """Builds the canvas panel by panel, left to right."""

    def __init__(self, cost: LayerCost, opts: DrawOptions) -> None:
        self.cost = cost
        self.spec: LayerSpec = cost.spec
        self.opts = opts
        self.notes: list[str] = []
        self.depth = 9.0  # slice offset in a stack
        _, _, h, w = cost.input_shape
        first = cost.stages[0]
        t, b, l, r = first.pads
        hp, wp = h + t + b, w + l + r
        ekh, ekw = first.spec.effective_kernel
        sh, sw = first.spec.stride
        # big inputs: only the top-left corner is drawn, large enough for two window positions
        self.crop_in = (min(hp, max(opts.max_pixels, ekh + sh)), min(wp, max(opts.max_pixels, ekw + sw)))
        self.cell = min(opts.max_cell, opts.max_extent / self.crop_in[0], opts.max_extent / self.crop_in[1])
        if self.crop_in != (hp, wp):
            self.notes.append(
                f"spatial: the top-left {self.crop_in[0]}×{self.crop_in[1]} of the padded {hp}×{wp} input "
                "is drawn (and the matching corner of each output)"
            )

    def crop_out(self, hw: tuple[int, int]) -> tuple[int, int]:
        """Rows and columns of an output drawn: the corner the drawn input corner produces."""
        shown = self.crop_in
        for st in self.cost.stages:
            ek, s = st.spec.effective_kernel, st.spec.stride
            shown = (
                min(st.output_size[0], max(1, (shown[0] - ek[0]) // s[0] + 1)),
                min(st.output_size[1], max(1, (shown[1] - ek[1]) // s[1] + 1)),
            )
        return (min(hw[0], shown[0]), min(hw[1], shown[1]))

    # ---------------------------------------------------------------- geometry helpers
    def stack_size(self, n: int, shown: tuple[int, int]) -> tuple[float, float]:
        drawn = len(shown_indices(n, self.opts.max_channels))
        extra = self.depth * (drawn - 1)
        return shown[1] * self.cell + extra, shown[0] * self.cell + extra

    def draw_stack(
        self,
        cv: Canvas,
        x: float,
        y_mid: float,
        n: int,
        hw: tuple[int, int],
        shown: tuple[int, int],
        colors: list[str],
        *,
        pads: tuple[int, int, int, int] = (0, 0, 0, 0),
        front: Any = None,
    ) -> None:
        """Draw n channel slices of hw pixels (+ padding ring), `shown` (rows, cols) of the padded grid."""
        cell = self.cell
        h_px, w_px = shown[0] * cell, shown[1] * cell
        idx = shown_indices(n, self.opts.max_channels)
        extra = self.depth * (len(idx) - 1)
        fx, fy = x, y_mid - (h_px + extra) / 2 + extra  # front slice top-left
        for pos in range(len(idx) - 1, -1, -1):
            ch = idx[pos]
            sx, sy = fx + pos * self.depth, fy - pos * self.depth
            if ch is None:
                cv.text(sx + w_px / 2 + 4, sy + 4, "⋯", size=12, anchor="middle", color=MUTED)
                continue
            color = colors[ch]
            cv.rect(sx, sy, w_px, h_px, fill="#ffffff", stroke="none")
            cv.rect(sx, sy, w_px, h_px, fill=tint(color, 0.6), stroke=color, width=1.0)
            if pos == 0:
                self._front_slice(cv, sx, sy, hw, shown, pads, color)
                if front is not None:
                    front(cv, sx, sy, cell)

    def _front_slice(
        self,
        cv: Canvas,
        x: float,
        y: float,
        hw: tuple[int, int],
        shown: tuple[int, int],
        pads: tuple[int, int, int, int],
        color: str,
    ) -> None:
        cell = self.cell
        t, b, l, r = pads
        rows, cols = shown
        full_rows, full_cols = hw[0] + t + b, hw[1] + l + r
        # the real (unpadded) pixels inside the drawn corner
        r0, r1 = t, min(t + hw[0], rows)
        c0, c1 = l, min(l + hw[1], cols)
        if any(pads):
            cv.rect(x, y, cols * cell, rows * cell, fill=PAD_FILL, stroke="none")
            cv.rect(x + c0 * cell, y + r0 * cell, (c1 - c0) * cell, (r1 - r0) * cell, fill=tint(color, 0.6))
        if cell >= 5.0:
            for i in range(1, rows):
                cv.line(x, y + i * cell, x + cols * cell, y + i * cell, stroke="#ffffff", width=0.6)
            for j in range(1, cols):
                cv.line(x + j * cell, y, x + j * cell, y + rows * cell, stroke="#ffffff", width=0.6)
            zeros = self.cost.stages[0].spec.padding.mode == "zeros"
            if any(pads) and cell >= 9.0 and zeros:  # other modes copy pixels: no zeros to show
                for i in range(rows):
                    for j in range(cols):
                        if not (r0 <= i < t + hw[0] and c0 <= j < l + hw[1]):
                            cv.text(
                                x + (j + 0.5) * cell,
                                y + (i + 0.5) * cell,
                                "0",
                                size=cell * 0.45,
                                anchor="middle",
                                color="#aaaaaa",
                            )
        if any(pads):
            cv.rect(
                x + c0 * cell,
                y + r0 * cell,
                (c1 - c0) * cell,
                (r1 - r0) * cell,
                fill="none",
                stroke=color,
                width=1.0,
            )
        cv.rect(x, y, cols * cell, rows * cell, fill="none", stroke=color, width=1.2)
        # a cropped side fades out with a dashed white edge and an ellipsis
        if cols < full_cols:
            cv.line(
                x + cols * cell, y, x + cols * cell, y + rows * cell, stroke="#ffffff", width=2.0, dash="3 3"
            )
            cv.text(x + cols * cell + 7, y + rows * cell / 2, "⋯", size=12, anchor="middle", color=MUTED)
        if rows < full_rows:
            cv.line(
                x, y + rows * cell, x + cols * cell, y + rows * cell, stroke="#ffffff", width=2.0, dash="3 3"
            )
            cv.text(x + cols * cell / 2, y + rows * cell + 8, "⋮", size=12, anchor="middle", color=MUTED)

    # ---------------------------------------------------------------- panels
    def input_colors(self, stage: Conv2dSpec) -> list[str]:
        per = stage.in_channels // stage.groups
        return [group_color(ch // per) for ch in range(stage.in_channels)]

    def output_colors(self, stage: Conv2dSpec) -> list[str]:
        per = stage.out_channels // stage.groups
        return [group_color(o // per) for o in range(stage.out_channels)]

    def window_overlay(self, stage: Conv2dSpec, out_hw: tuple[int, int]) -> Any:
        """Callable drawing the dilated taps of output (0, 0) and the window of output (0, 1)."""
        kh, kw = stage.kernel_size
        dh, dw = stage.dilation
        sh, sw = stage.stride
        ekh, ekw = stage.effective_kernel

        def next_window(cv: Canvas, x: float, y: float, cell: float, along_width: bool) -> None:
            """The window one stride on (dashed), an arrow of the stride's length and its label."""
            step = sw if along_width else sh
            dx, dy = (step * cell, 0.0) if along_width else (0.0, step * cell)
            dash, width = ("4 3", 1.2) if along_width else ("2 2", 1.0)
            cv.rect(
                x + dx, y + dy, ekw * cell, ekh * cell, fill="none", stroke=ACCENT, width=width, dash=dash
            )
            if along_width:
                start, label = (x + ekw * cell / 2, y - 6), (x + (ekw / 2 + sw / 2) * cell, y - 15, "middle")
            else:
                start, label = (x - 6, y + ekh * cell / 2), (x - 9, y + (ekh / 2 + sh / 2) * cell, "end")
            cv.line(*start, start[0] + dx, start[1] + dy, stroke=ACCENT, width=1.2, arrow=True)
            cv.text(label[0], label[1], f"stride {step}", size=9, anchor=label[2], color=ACCENT)

        def draw(cv: Canvas, x: float, y: float, cell: float) -> None:
            if out_hw[1] > 1:  # the next window along the width
                next_window(cv, x, y, cell, along_width=True)
            if out_hw[0] > 1 and (sh != sw or out_hw[1] == 1):  # and along the height
                next_window(cv, x, y, cell, along_width=False)
            cv.rect(x, y, ekw * cell, ekh * cell, fill=ACCENT, opacity=0.12, stroke=ACCENT, width=1.6)
            if cell >= 5.0:
                rad = max(1.5, min(cell * 0.28, 5.0))
                for i in range(kh):
                    for j in range(kw):
                        cv.circle(x + (j * dw + 0.5) * cell, y + (i * dh + 0.5) * cell, rad, fill=ACCENT)

        return draw

    def output_overlay(self, stage: Conv2dSpec, out_hw: tuple[int, int]) -> Any:
        sh, sw = stage.stride

        def draw(cv: Canvas, x: float, y: float, cell: float) -> None:
            if out_hw[1] > 1:
                cv.rect(x + cell, y, cell, cell, fill="none", stroke=ACCENT, width=1.2, dash="4 3")
            if out_hw[0] > 1 and (sh != sw or out_hw[1] == 1):
                cv.rect(x, y + cell, cell, cell, fill="none", stroke=ACCENT, width=1.0, dash="2 2")
            cv.rect(x, y, cell, cell, fill=ACCENT, opacity=0.55, stroke=ACCENT, width=1.4)

        return draw

    def filter_bank(
        self, cv: Canvas, x: float, y_mid: float, stage: Conv2dSpec, in_colors: list[str]
    ) -> float:
        """Draw the filters of one stage as small stacks in a column; returns the width used."""
        kh, kw = stage.kernel_size
        per_in = stage.in_channels // stage.groups
        per_out = stage.out_channels // stage.groups
        fcell = max(4.0, min(12.0, 42.0 / max(kh, kw)))
        depth_idx = shown_indices(per_in, self.opts.max_filter_depth)
        fdepth = 5.0
        fw = kw * fcell + fdepth * (len(depth_idx) - 1)
        fh = kh * fcell + fdepth * (len(depth_idx) - 1)
        filt_idx = shown_indices(stage.out_channels, self.opts.max_filters)
        gap = 12.0
        total_h = len(filt_idx) * (fh + gap) - gap
        top = y_mid - total_h / 2
        label_w = 0.0
        for row, o in enumerate(filt_idx):
            fy = top + row * (fh + gap)
            if o is None:
                cv.text(x + fw / 2, fy + fh / 2, "⋮", size=16, anchor="middle", color=MUTED)
                continue
            group = o // per_out
            first_in = group * per_in
            for pos in range(len(depth_idx) - 1, -1, -1):
                d = depth_idx[pos]
                sx, sy = x + pos * fdepth, fy + fh - kh * fcell - pos * fdepth
                if d is None:
                    continue
                color = in_colors[first_in + d]
                cv.rect(sx, sy, kw * fcell, kh * fcell, fill="#ffffff")
                cv.rect(sx, sy, kw * fcell, kh * fcell, fill=tint(color, 0.35), stroke=color, width=1.0)
                if pos == 0 and fcell >= 5:
                    for i in range(1, kh):
                        cv.line(
                            sx, sy + i * fcell, sx + kw * fcell, sy + i * fcell, stroke="#ffffff", width=0.5
                        )
                    for j in range(1, kw):
                        cv.line(
                            sx + j * fcell, sy, sx + j * fcell, sy + kh * fcell, stroke="#ffffff", width=0.5
                        )
            label = f"#{o + 1}" + (f" g{group + 1}" if stage.groups > 1 else "")
            cv.text(x + fw + 5, fy + fh / 2, label, size=9, color=MUTED)
            label_w = max(label_w, text_width(label, 9) + 5)
        return fw + label_w
