"""Figures of one convolution variant, drawn from its real arguments and annotated with `core`'s counts.

The figure shows the input tensor as channel slices (with its padding ring), the filters coloured by
group, the depthwise / pointwise split of separable kinds, the dilated taps and the stride of the first
two sliding-window positions, and the output tensor. Large channel counts are capped (the figure says
so); every number printed on it comes from `convwise.core.layer_cost`.
"""

from __future__ import annotations

import math
from typing import Any

from convwise.core import LayerCost, LayerSpec, fmt, layer_cost
from convwise.viz.canvas import Canvas, text_width
from convwise.viz.panels import ACCENT, INK, MUTED, DrawOptions, Panels, shown_indices


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
    """The annotation lines of the figure: shapes, totals, and each stage's params and mults derived.

    >>> from convwise.core import make_spec
    >>> annotation_lines(layer_cost(make_spec("standard", 4, 10, 3), (4, 5, 5)))[1]
    'params 370 · multiplications 3,240 · additions 3,240 · MACs 3,240 · FLOPs 6,480'
    """
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
    fig = Panels(cost, opts)
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

    >>> from convwise.core import make_spec
    >>> svg = draw_layer(make_spec("separable", 4, 10, 3), (4, 5, 5)).to_svg()
    >>> "params 90 · multiplications 684" in svg  # 40 + 50 params, 324 + 360 mults
    True
    """
    return draw_cost(layer_cost(spec, input_shape), options)
