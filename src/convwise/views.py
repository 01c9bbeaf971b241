"""Rich views of `convwise.core`'s results: one layer's cost, every variant compared, the derivations.

The command line prints these; they need rich and `convwise.core` only (no torch), so `convwise layer`
and `convwise compare` start in a fraction of `import torch`'s time.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - typing only
    from rich.console import Console

    from convwise.core import Comparison, Explanation, LayerCost


def console(min_width: int = 120) -> Console:
    """A rich console on stdout (at least `min_width` columns when not a terminal, so tables do not wrap)."""
    from rich.console import Console

    con = Console(highlight=False)
    if not con.is_terminal:
        con = Console(highlight=False, width=max(con.width, min_width))
    return con


#: The symbols the derivations use, printed once above them.
SYMBOLS = (
    "Each line: quantity = formula = values substituted = result. Symbols: Cin, Cout input / output "
    "channels of the stage; H×W its input and Ho×Wo its output size; kh×kw kernel (k along one axis); "
    "s stride; d dilation; g groups; pad total padding along the axis; N batch."
)


def render_legend(con: Console) -> None:
    """Print the symbol legend of the derivations."""
    from rich.text import Text

    con.print(Text(SYMBOLS, style="dim"), soft_wrap=True)


def render_explanations(con: Console, explanations: Iterable[Explanation], title: str) -> None:
    """Print derivations grouped by scope, one `quantity = formula = values = result` line each."""
    from dataclasses import replace

    from rich.text import Text

    con.print(Text(title, style="bold"))
    scope = None
    for e in explanations:
        if e.scope != scope:
            scope = e.scope
            con.print(Text(f"  {scope}", style="bold cyan"))
        con.print(Text(f"    {replace(e, scope='').text()}"), soft_wrap=True)


def shape_label(shape: tuple[int, ...] | list[int], *, channels_last: bool = False) -> str:
    """A shape with its axes named: 'N×C×H×W 1×10×3×3' (or 'N×H×W×C 1×3×3×10' with `channels_last`).

    >>> shape_label((1, 10, 3, 3)), shape_label((1, 10, 3, 3), channels_last=True)
    ('N×C×H×W 1×10×3×3', 'N×H×W×C 1×3×3×10')
    """
    values = list(shape)
    if len(values) == 4:
        n, c, h, w = values
        if channels_last:
            return f"N×H×W×C {n}×{h}×{w}×{c}"
        return f"N×C×H×W {n}×{c}×{h}×{w}"
    if len(values) == 3:
        c, h, w = values
        if channels_last:
            return f"H×W×C {h}×{w}×{c}"
        return f"C×H×W {c}×{h}×{w}"
    if len(values) == 2:
        return f"H×W {values[0]}×{values[1]}"
    return "×".join(map(str, values))


def render_cost(con: Console, cost: LayerCost, *, channels_last: bool = False) -> None:
    """The layer report as rich tables: shapes, counts per stage and in total, memory.

    >>> import io
    >>> from rich.console import Console
    >>> from convwise.core import layer_cost, make_spec
    >>> con = Console(file=io.StringIO(), width=120)
    >>> render_cost(con, layer_cost(make_spec("standard", 4, 10, 3), (4, 5, 5)))
    >>> "multiplications (= MACs)" in con.file.getvalue()
    True
    """
    from rich.table import Table
    from rich.text import Text

    from convwise.core import fmt

    n = cost.batch
    con.print(Text(cost.spec.describe(), style="bold"))
    con.print(
        Text(
            f"input {shape_label(cost.input_shape, channels_last=channels_last)}  →  "
            f"output {shape_label(cost.output_shape, channels_last=channels_last)}"
        )
    )
    total_label = "total" + (" (per sample)" if n == 1 else f" (batch of {n})")
    table = Table(show_header=True, header_style="bold")
    table.add_column("quantity")
    composite = len(cost.stages) > 1
    if composite:
        for st in cost.stages:
            table.add_column(st.spec.role, justify="right")
    table.add_column(total_label, justify="right")
    stage_counts = [st.counts.scaled(n) for st in cost.stages]

    def row(label: str, stage_values: list[str], total: str) -> None:
        table.add_row(label, *(stage_values if composite else []), total)

    row(
        "output N×H×W×C" if channels_last else "output N×C×H×W",
        [
            "×".join(
                map(
                    str,
                    (n, *st.output_size, st.spec.out_channels)
                    if channels_last
                    else (n, st.spec.out_channels, *st.output_size),
                )
            )
            for st in cost.stages
        ],
        "×".join(map(str, cost.output_shape if not channels_last else _nhwc(cost.output_shape))),
    )
    row(
        "kernel, stride, dilation",
        [_geometry(st.spec) for st in cost.stages],
        _geometry(cost.spec.spatial),
    )
    row(
        "padding top,bottom,left,right",
        [",".join(map(str, st.pads)) for st in cost.stages],
        f"{','.join(map(str, cost.stages[0].pads))} ({cost.spec.padding.describe()})",
    )
    fields = (
        ("weight params", "weight_params"),
        ("bias params", "bias_params"),
        ("params", "params"),
        ("multiplications (= MACs)", "mults"),
        ("accumulation additions", "acc_adds"),
        ("bias additions", "bias_adds"),
        ("additions", "adds"),
        ("FLOPs (mults + adds)", "flops"),
    )
    for label, attr in fields:
        row(label, [fmt(getattr(c, attr)) for c in stage_counts], fmt(getattr(cost.counts, attr)))
    if cost.counts.mults_excluding_padding != cost.counts.mults:
        row(
            "multiplications excluding padding taps",
            [fmt(c.mults_excluding_padding) for c in stage_counts],
            fmt(cost.counts.mults_excluding_padding),
        )
    con.print(table)
    mem = Table(show_header=True, header_style="bold", title=None)
    mem.add_column(f"memory ({cost.dtype})")
    mem.add_column("bytes", justify="right")
    mem.add_row("weights", fmt(cost.weight_bytes))
    mem.add_row("input", fmt(cost.input_bytes))
    mem.add_row("output", fmt(cost.output_bytes))
    mem.add_row("moved (Σ stages: weights + in + out)", fmt(cost.bytes_moved))
    mem.add_row("arithmetic intensity (FLOPs/byte)", fmt(cost.arithmetic_intensity))
    con.print(mem)


def _nhwc(shape: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    n, c, h, w = shape
    return (n, h, w, c)


def _geometry(spec: Any) -> str:
    def hw(p: tuple[int, int]) -> str:
        return f"{p[0]}x{p[1]}"

    return f"{hw(spec.kernel_size)}, {hw(spec.stride)}, {hw(spec.dilation)}"


def render_comparison(con: Console, comp: Comparison, *, channels_last: bool = False) -> None:
    """The side-by-side table, its footnotes and the theory line."""
    from rich.table import Table
    from rich.text import Text

    from convwise.core import fmt

    base = comp.baseline
    n = base.batch
    kh, kw = comp.kernel_size
    con.print(
        Text(
            f"input {shape_label(base.input_shape, channels_last=channels_last)} → {comp.out_channels} "
            f"output channels, kernel {kh}x{kw}, {', '.join(base.spec.settings())}",
            style="bold",
        )
    )
    per = "per sample" if n == 1 else f"batch of {n}"
    table = Table(show_header=True, header_style="bold", caption=f"counts {per}; ×std = ratio to standard")
    table.add_column("variant", no_wrap=True)
    table.add_column("output " + ("N×H×W×C" if channels_last else "N×C×H×W"), justify="right")
    for col in ("params", "×std", "mults (MACs)", "×std", "FLOPs", "×std"):
        table.add_column(col, justify="right")
    notes: list[str] = []
    for v in comp.variants:
        name = v.name + ("" if not v.note else f" [{len(notes) + 1}]")
        if v.note:
            notes.append(f"[{len(notes) + 1}] {v.name}: {v.note}")
        if v.cost is None:
            table.add_row(name, "n/a", "—", "", "—", "", "—", "")
            continue
        o = v.cost.output_shape
        shape = (o[0], o[2], o[3], o[1]) if channels_last else o
        cells = [name, "×".join(map(str, shape))]
        for field in ("params", "mults", "flops"):
            ratio = v.ratio(base, field)
            cells.append(fmt(getattr(v.cost.counts, field)))
            cells.append("" if v.name == "standard" else ("—" if ratio is None else fmt(ratio)))
        table.add_row(*cells)
    con.print(table)
    for note in notes:
        con.print(Text(note), soft_wrap=True)
    theory = comp.theory_separable_ratio
    measured = comp.separable_mults_ratio
    line = (
        "MobileNet theory, separable / standard multiplications: "
        f"{comp.separable_theory.text()} = {fmt(theory)}"
    )
    if measured is not None:
        verdict = "exactly equal" if measured == theory else "the theory does not apply: output sizes differ"
        line += f"; measured {fmt(measured)} ({verdict})"
    con.print(Text(line), soft_wrap=True)
