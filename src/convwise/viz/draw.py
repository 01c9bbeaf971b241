"""Figures of one convolution variant, drawn from its real arguments and annotated with `core`'s counts.

The figure shows the input tensor as channel slices (with its padding ring), the filters coloured by
group, the depthwise / pointwise split of separable kinds, the dilated taps and the stride of the first
two sliding-window positions, and the output tensor. Large channel counts are capped (the figure says
so); every number printed on it comes from `convwise.core.layer_cost`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from convwise.core import LayerCost, LayerSpec, fmt, layer_cost
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
    """`color` mixed with white (`amount` of white)."""
    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    mix = [round(v + (255 - v) * amount) for v in (r, g, b)]
    return "#" + "".join(f"{v:02x}" for v in mix)


def group_color(index: int) -> str:
    """Colour of group `index` (cycles through the palette)."""
    return PALETTE[index % len(PALETTE)]


def shown_indices(count: int, cap: int) -> list[int | None]:
    """Indices to draw out of `count` when at most `cap` fit: the first ones, None (a gap), the last."""
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


class _Figure:
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

        def draw(cv: Canvas, x: float, y: float, cell: float) -> None:
            if out_hw[1] > 1:  # the next window along the width
                cv.rect(
                    x + sw * cell,
                    y,
                    ekw * cell,
                    ekh * cell,
                    fill="none",
                    stroke=ACCENT,
                    width=1.2,
                    dash="4 3",
                )
                cv.line(
                    x + ekw * cell / 2,
                    y - 6,
                    x + (ekw / 2 + sw) * cell,
                    y - 6,
                    stroke=ACCENT,
                    width=1.2,
                    arrow=True,
                )
                cv.text(
                    x + (ekw / 2 + sw / 2) * cell,
                    y - 15,
                    f"stride {sw}",
                    size=9,
                    anchor="middle",
                    color=ACCENT,
                )
            if out_hw[0] > 1 and (sh != sw or out_hw[1] == 1):  # and along the height
                cv.rect(
                    x,
                    y + sh * cell,
                    ekw * cell,
                    ekh * cell,
                    fill="none",
                    stroke=ACCENT,
                    width=1.0,
                    dash="2 2",
                )
                cv.line(
                    x - 6,
                    y + ekh * cell / 2,
                    x - 6,
                    y + (ekh / 2 + sh) * cell,
                    stroke=ACCENT,
                    width=1.2,
                    arrow=True,
                )
                cv.text(
                    x - 9, y + (ekh / 2 + sh / 2) * cell, f"stride {sh}", size=9, anchor="end", color=ACCENT
                )
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


def _wrap(notes: list[str], limit: int) -> list[str]:
    """Join notes with '; ' into lines of at most about `limit` characters, prefixed 'drawn: '."""
    lines: list[str] = []
    cur = ""
    for note in notes:
        if cur and len(cur) + len(note) + 2 > limit:
            lines.append(cur + ";")
            cur = note
        else:
            cur = f"{cur}; {note}" if cur else note
    if cur:
        lines.append(cur)
    return ["note: " + lines[0], *lines[1:]] if lines else []


def _shape_text(c: int, h: int, w: int) -> str:
    return f"{c}×{h}×{w}"


def annotation_lines(cost: LayerCost) -> list[str]:
    """The annotation lines of the figure: shapes, totals, and each stage's params and mults derived."""
    n, c, h, w = cost.input_shape
    _, oc, oh, ow = cost.output_shape
    k = cost.counts
    lines = [
        f"input {n}×{c}×{h}×{w} (N×C×H×W) → output {n}×{oc}×{oh}×{ow}",
        f"params {fmt(k.params)} · multiplications {fmt(k.mults)} · additions {fmt(k.adds)} "
        f"· MACs {fmt(k.macs)} · FLOPs {fmt(k.flops)}",
    ]
    for st in cost.stages:
        role = st.spec.role
        parts = {e.quantity: e for e in st.explanations}
        wp, bp, mu = parts["weight params"], parts["bias params"], parts["multiplications"]
        bias = f" + bias {fmt(bp.value)}" if bp.value else " (no bias)"
        lines.append(f"{role} params = {wp.formula} = {wp.substituted}{bias} = {fmt(st.counts.params)}")
        lines.append(f"{role} mults  = {mu.formula} = {mu.substituted} = {fmt(st.counts.mults)}")
    return lines


def draw_cost(cost: LayerCost, opts: DrawOptions | None = None) -> Canvas:
    """The figure of an already computed `LayerCost` (see `draw_layer`)."""
    opts = opts or DrawOptions()
    fig = _Figure(cost, opts)
    spec = cost.spec
    _, c, h, w = cost.input_shape
    margin, gap = 28.0, 46.0
    head_h = 58.0
    stages = cost.stages

    # ---- measure the panels to size the canvas
    first = stages[0]
    in_w, in_h = fig.stack_size(c, fig.crop_in)
    tensor_hs = [in_h]
    for st in stages:
        oh_, ow_ = st.output_size
        tensor_hs.append(fig.stack_size(st.spec.out_channels, fig.crop_out((oh_, ow_)))[1])
    body_h = max(max(tensor_hs), 120.0)
    for st in stages:
        kh = st.spec.kernel_size[0]
        fcell = max(4.0, min(12.0, 42.0 / max(st.spec.kernel_size)))
        nf = len(shown_indices(st.spec.out_channels, opts.max_filters))
        depth = len(shown_indices(st.spec.in_channels // st.spec.groups, opts.max_filter_depth))
        body_h = max(body_h, nf * (kh * fcell + 5 * (depth - 1) + 12))
    lines = annotation_lines(cost)
    notes = list(fig.notes)
    if c > opts.max_channels:
        notes.append(f"input: {opts.max_channels - 1} of {c} channel slices drawn")
    for st in stages:
        if st.spec.out_channels > opts.max_filters:
            notes.append(
                f"{st.spec.role if spec.is_composite else 'filters'}: {opts.max_filters - 1} of "
                f"{st.spec.out_channels} filters drawn"
            )
        if st.spec.channels_per_group > opts.max_filter_depth:
            notes.append(
                f"each filter has {st.spec.channels_per_group} slices ({opts.max_filter_depth - 1} drawn)"
            )
        if st.spec.out_channels > opts.max_channels:
            notes.append(
                f"{st.spec.role} output: {opts.max_channels - 1} of {st.spec.out_channels} slices drawn"
            )
    # remove duplicates, keep order
    notes = list(dict.fromkeys(notes))

    cv = Canvas(0, 0, title=spec.describe())
    y_mid = head_h + 40 + body_h / 2
    x = margin
    labels: list[tuple[float, str, str]] = []  # (x centre, title, subtitle)

    def panel(x0: float, title: str, sub: str, draw: Any) -> float:
        """Draw a panel at x0, centred in max(its width, its label's width); returns the next x."""
        start = len(cv.shapes)
        used = draw(x0)
        width = max(used, text_width(title, 11.5, bold=True), text_width(sub, 9.5)) + 8
        cv.shift(start, (width - used) / 2)
        labels.append((x0 + width / 2, title, sub))
        return x0 + width

    def op_arrow(x0: float, symbol: str) -> float:
        cv.line(x0 + 4, y_mid, x0 + gap - 8, y_mid, stroke=INK, width=1.4, arrow=True)
        cv.text(x0 + gap / 2 - 2, y_mid - 11, symbol, size=13, anchor="middle", color=INK)
        return x0 + gap

    # ---- input
    in_colors = fig.input_colors(first.spec)
    pad_text = first.spec.padding.describe()
    if any(first.pads):
        pad_text += " → " + ",".join(str(p) for p in first.pads) + " (t,b,l,r)"

    def draw_input(x0: float) -> float:
        fig.draw_stack(
            cv,
            x0,
            y_mid,
            c,
            (h, w),
            fig.crop_in,
            in_colors,
            pads=first.pads,
            front=fig.window_overlay(first.spec, first.output_size),
        )
        return in_w

    x = panel(x, f"input {_shape_text(c, h, w)} (C×H×W)", f"padding {pad_text}", draw_input)
    cur_colors = in_colors
    spans: list[tuple[float, float]] = []
    for i, st in enumerate(stages):
        s = st.spec
        stage_x0 = x
        x = op_arrow(x, "⊛")
        kh, kw = s.kernel_size
        role = {"conv": "filters", "depthwise": "depthwise filters", "pointwise": "pointwise filters"}[s.role]
        sub = f"{s.out_channels} × ({s.channels_per_group}×{kh}×{kw})"
        extras = []
        if s.groups > 1 and s.role != "depthwise":
            extras.append(f"groups {s.groups}")
        if s.role == "depthwise" and spec.depth_multiplier > 1:
            extras.append(f"multiplier {spec.depth_multiplier}")
        if s.dilation != (1, 1):
            extras.append("dilation " + "x".join(map(str, s.dilation)))
        if s.stride != (1, 1):
            extras.append("stride " + "x".join(map(str, s.stride)))
        colors_in = cur_colors
        x = panel(
            x,
            role,
            sub + ("; " + ", ".join(extras) if extras else ""),
            lambda x0, s=s, colors_in=colors_in: fig.filter_bank(cv, x0, y_mid, s, colors_in),
        )
        x = op_arrow(x, "=")
        oh_, ow_ = st.output_size
        last = i == len(stages) - 1
        nxt = stages[i + 1].spec if not last else None
        out_colors = fig.input_colors(nxt) if nxt is not None else fig.output_colors(s)
        if s.role == "depthwise" and last:
            per = s.out_channels // s.in_channels
            out_colors = [in_colors[o // per] for o in range(s.out_channels)]
        ow_total = fig.stack_size(s.out_channels, fig.crop_out((oh_, ow_)))[0]
        name = "output" if last else "depthwise output"

        def draw_out(
            x0: float,
            s: Any = s,
            oh_: int = oh_,
            ow_: int = ow_,
            colors: Any = out_colors,
            total: float = ow_total,
        ) -> float:
            fig.draw_stack(
                cv,
                x0,
                y_mid,
                s.out_channels,
                (oh_, ow_),
                fig.crop_out((oh_, ow_)),
                colors,
                front=fig.output_overlay(stages[0].spec, (oh_, ow_)),
            )
            return total

        x = panel(
            x,
            f"{name} {_shape_text(s.out_channels, oh_, ow_)}",
            f"{fmt(st.counts.params)} params, {fmt(st.counts.mults)} mults",
            draw_out,
        )
        cur_colors = out_colors
        spans.append((stage_x0 + 8, x))
    width_body = x + margin
    if spec.is_composite:  # brackets naming the two stages of a separable layer
        top = y_mid - body_h / 2 - 14
        what = {"depthwise": "each channel filtered on its own", "pointwise": "1×1, mixes the channels"}
        for n, ((x0, x1), st) in enumerate(zip(spans, stages, strict=True), start=1):
            color = "#888888"
            cv.line(x0, top, x1, top, stroke=color, width=1.0)
            cv.line(x0, top, x0, top + 6, stroke=color, width=1.0)
            cv.line(x1, top, x1, top + 6, stroke=color, width=1.0)
            label = f"stage {n} · {st.spec.role}: {what.get(st.spec.role, '')}"
            cv.text((x0 + x1) / 2, top - 9, label, size=10, anchor="middle", color="#555555")

    # ---- labels under the panels
    label_y = y_mid + body_h / 2 + 22
    for cx, title, sub in labels:
        cv.text(cx, label_y, title, size=11.5, anchor="middle", weight="bold", color=INK)
        cv.text(cx, label_y + 16, sub, size=9.5, anchor="middle", color=MUTED)

    # ---- header
    cv.text(margin, 24, spec.describe(), size=15, weight="bold", color=INK)
    cv.text(
        margin,
        44,
        "red: the taps of output pixel (0, 0) (dashed: the next window, one stride on)",
        size=10,
        color=ACCENT,
    )

    # ---- annotation block
    y = label_y + 46
    cv.line(margin, y - 12, max(width_body, 400) - margin, y - 12, stroke="#dddddd", width=1)
    widest = 0.0
    for j, line in enumerate(lines):
        size = 12.0 if j < 2 else 10.5
        cv.text(
            margin,
            y,
            line,
            size=size,
            color=INK if j < 2 else "#333333",
            mono=j >= 2,
            weight="bold" if j == 1 else "normal",
        )
        widest = max(widest, text_width(line, size, mono=j >= 2, bold=j == 1))
        y += 19 if j < 2 else 17
    for note in _wrap(notes, 130):
        cv.text(margin, y, note, size=10, color=MUTED, italic=True)
        widest = max(widest, text_width(note, 10, italic=True))
        y += 16
    cv.width = math.ceil(
        max(
            width_body,
            margin * 2 + widest,
            margin * 2 + text_width(spec.describe(), 15, bold=True),
        )
    )
    cv.height = math.ceil(y + 10)
    return cv


def draw_layer(
    spec: LayerSpec,
    input_shape: tuple[int, int, int],
    *,
    options: DrawOptions | None = None,
) -> Canvas:
    """Draw a convolution variant applied to an input (C, H, W).

    Args:
        spec: the layer (`convwise.core.make_spec`).
        input_shape: (C, H, W) of one sample.
        options: caps on the channels / filters drawn.

    Returns:
        A `Canvas`; `.to_svg()` gives the SVG text, `.save(path)` writes .svg or .png.

    Raises:
        ConfigError: if the layer does not apply to the input (as `layer_cost`).
    """
    return draw_cost(layer_cost(spec, input_shape), options)
