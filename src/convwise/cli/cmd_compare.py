"""`convwise compare`: every convolution variant side by side for one input → output mapping.

Answers from `convwise.core` alone: no torch, no numpy. rich is imported inside `run`.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from convwise.cli.cmd_layer import add_geometry_arguments

if TYPE_CHECKING:  # pragma: no cover - typing only
    from convwise.core import Comparison

HELP = "Every variant (standard, grouped, depthwise, pointwise, separable …) side by side, with ratios."
DESCRIPTION = (
    "Cost of the standard convolution and of every cheaper variant for the same input → output mapping "
    "(--input CxHxW, --out C, --kernel K), with each variant's ratio to the standard convolution and "
    "MobileNet's theory 1/Cout + 1/(kh·kw) for depthwise-separable. --explain derives every number; "
    "--json prints one layer report (docs/cost-model.md) per variant. No torch needed."
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


def run(args: argparse.Namespace) -> int:
    """Print the comparison (table, --explain derivations, or --json)."""
    from convwise.cli.common import print_json
    from convwise.views import console, render_comparison, render_explanations, render_legend

    comp = comparison_from_args(args)
    if args.json:
        print_json(comp.to_dict(explain=args.explain))  # shapes stay N, C, H, W (docs/cost-model.md)
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
