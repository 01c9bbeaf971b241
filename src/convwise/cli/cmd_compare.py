"""`convwise compare`: every convolution variant side by side for one input → output mapping.

Answers from `convwise.core` alone: no torch, no numpy. rich is imported inside `run`.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from convwise.cli.cmd_layer import add_geometry_arguments

if TYPE_CHECKING:  # pragma: no cover - typing only
    from rich.console import Console

    from convwise.core import Comparison

HELP = "Every variant (standard, grouped, depthwise, pointwise, separable …) side by side, with ratios."
DESCRIPTION = (
    "Cost of the standard convolution and of every cheaper variant for the same input → output mapping "
    "(--input CxHxW, --out C, --kernel K), with each variant's ratio to the standard convolution and "
    "MobileNet's theory 1/Cout + 1/(kh·kw) for depthwise-separable. --explain derives every number; "
    "--json prints one SPEC layer report per variant. No torch needed."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's arguments."""
    add_geometry_arguments(parser, kernel_help="kernel size of the spatial convolutions: K or HxW")
    parser.add_argument(
        "--groups", metavar="G", default="2", help="groups of the grouped variants, ≥ 2 (default: 2)"
    )


def comparison_from_args(args: argparse.Namespace) -> Comparison:
    """The `Comparison` for the parsed arguments.

    Raises:
        ConfigError: any bad value, with the flag named.
    """
    from convwise.cli.shapes import parse_dtype, parse_input, parse_padding_arg, parse_pair, parse_positive
    from convwise.core import compare, config_error

    shape = parse_input(args.input, channels_last=args.channels_last)
    if args.out is None:
        raise config_error("`--out` is required: the output channels to compare the variants for.", out=None)
    if args.kernel is None:
        raise config_error(
            "`--kernel` is required: the kernel size of the spatial convolutions.", kernel=None
        )
    if args.no_bias and args.bias_policy not in (None, "none"):
        raise config_error("`--no-bias` contradicts `--bias-policy`.", bias_policy=args.bias_policy)
    from convwise.core.padding import parse_padding

    return compare(
        shape,
        parse_positive("--out", args.out),
        parse_pair("--kernel", args.kernel),
        groups=parse_positive("--groups", args.groups),
        stride=parse_pair("--stride", args.stride),
        padding=parse_padding(parse_padding_arg(args.padding), str(args.padding_mode)),
        dilation=parse_pair("--dilation", args.dilation),
        depth_multiplier=parse_positive("--multiplier", args.multiplier) if args.multiplier else 1,
        bias=not args.no_bias,
        bias_policy=args.bias_policy or "pytorch",
        batch=parse_positive("--batch", args.batch),
        dtype=parse_dtype(args.dtype),
    )


def render_comparison(con: Console, comp: Comparison, *, channels_last: bool = False) -> None:
    """The side-by-side table, its footnotes and the theory line."""
    from rich.table import Table
    from rich.text import Text

    from convwise.cli.shapes import shape_label
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


def run(args: argparse.Namespace) -> int:
    """Print the comparison (table, --explain derivations, or --json)."""
    from convwise.cli.cmd_layer import console, render_explanations, render_legend
    from convwise.cli.common import print_json

    comp = comparison_from_args(args)
    if args.json:
        print_json(comp.to_dict(explain=args.explain))  # shapes stay N, C, H, W (SPEC §3)
        return 0
    con = console()
    render_comparison(con, comp, channels_last=args.channels_last)
    if args.explain:
        con.print()
        render_legend(con)
        for v in comp.variants:
            if v.cost is None:
                continue
            con.print()
            # bytes are not in the table (they are in --json and `convwise layer`): derive what is shown
            shown = [e for e in v.cost.explanations if not e.scope.startswith("memory")]
            render_explanations(con, shown, v.cost.spec.describe())
        con.print()
        render_explanations(con, comp.explain_ratios(), "Ratios to the standard convolution")
    return 0
