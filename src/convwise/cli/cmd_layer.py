"""`convwise layer`: one convolution's exact cost (shape, params, mults, adds, FLOPs, bytes), explained.

Answers from `convwise.core` alone: no torch, no numpy. rich is imported inside `run`.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - typing only
    from convwise.core import LayerSpec

HELP = "Exact cost of one convolution layer (shape, params, mults, adds, FLOPs, bytes), with --explain."
DESCRIPTION = (
    "Exact cost of one convolution layer of KIND (standard, grouped, depthwise, pointwise, separable, "
    "grouped-separable) on an input CxHxW (HxWxC with --channels-last): output shape, parameters, "
    "multiplications, additions (accumulation and bias), MACs, FLOPs and bytes moved. --explain derives "
    "every number (formula, substituted values, result); --json prints the layer report "
    "(docs/cost-model.md). No torch needed."
)


def add_geometry_arguments(parser: argparse.ArgumentParser, *, kernel_help: str) -> None:
    """The flags `layer` and `compare` share: input, kernel, stride, padding, dilation, dtype, output."""
    parser.add_argument(
        "--input", metavar="CxHxW", help="input shape, e.g. 4x5x5 (HxWxC with --channels-last)"
    )
    parser.add_argument(
        "--channels-last", action="store_true", help="read --input as HxWxC and print shapes as N×H×W×C"
    )
    parser.add_argument("--out", metavar="C", help="output channels")
    parser.add_argument("--kernel", metavar="K", help=kernel_help)
    parser.add_argument("--stride", metavar="S", default="1", help="stride: K or HxW (default: 1)")
    parser.add_argument(
        "--padding",
        metavar="P",
        default="valid",
        help="valid, same (TensorFlow's, any stride), an integer, HxW, or top,bottom,left,right "
        "(default: valid)",
    )
    parser.add_argument(
        "--padding-mode",
        metavar="MODE",
        default="zeros",
        help="zeros, reflect, replicate or circular, as PyTorch (default: zeros)",
    )
    parser.add_argument("--dilation", metavar="D", default="1", help="dilation: D or HxW (default: 1)")
    parser.add_argument("--multiplier", metavar="M", help="depth multiplier (depthwise outputs per channel)")
    parser.add_argument(
        "--bias-policy",
        metavar="POLICY",
        help="separable kinds: pytorch (both biases, default), keras (pointwise only) or none",
    )
    parser.add_argument("--no-bias", action="store_true", help="no bias at all")
    parser.add_argument(
        "--dtype", default="float32", help="element type for the byte counts (default: float32)"
    )
    parser.add_argument("--batch", metavar="N", default="1", help="batch size N (default: 1)")
    parser.add_argument("--explain", action="store_true", help="derive every number: formula, values, result")
    parser.add_argument("--json", action="store_true", help="print the report as JSON (docs/cost-model.md)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's arguments."""
    parser.add_argument(
        "kind",
        metavar="KIND",
        help="standard, grouped, depthwise, pointwise, separable or grouped-separable",
    )
    add_geometry_arguments(parser, kernel_help="kernel size: K or HxW, e.g. 3 or 10x4")
    parser.add_argument("--groups", metavar="G", help="number of groups (grouped kinds; pointwise)")


def spec_from_args(args: argparse.Namespace) -> tuple[LayerSpec, tuple[int, int, int], int, str]:
    """(spec, input (C, H, W), batch, dtype) from the parsed `layer` arguments.

    Raises:
        ConfigError: any bad value, with the flag named.
    """
    from convwise.cli.shapes import parse_dtype, parse_input, parse_padding_arg, parse_pair, parse_positive
    from convwise.core import KINDS, config_error, make_spec

    kind = str(args.kind).strip().lower()
    if kind not in KINDS:
        raise config_error(f"KIND must be one of {', '.join(KINDS)}.", kind=args.kind)
    shape = parse_input(args.input, channels_last=args.channels_last)
    if args.kernel is None and kind != "pointwise":
        raise config_error(f"`--kernel` is required for a {kind} convolution.", kernel=None)
    if args.out is None and kind != "depthwise":
        raise config_error(f"`--out` is required for a {kind} convolution.", out=None)
    if args.groups is None and kind in ("grouped", "grouped-separable"):
        raise config_error(f"`--groups` is required for a {kind} convolution.", groups=None)
    if args.groups is not None and kind in ("standard", "depthwise", "separable"):
        raise config_error(f"`--groups` does not apply to a {kind} convolution.", groups=args.groups)
    if args.multiplier is not None and kind not in ("depthwise", "separable", "grouped-separable"):
        raise config_error(
            f"`--multiplier` does not apply to a {kind} convolution.", multiplier=args.multiplier
        )
    if args.bias_policy is not None and kind not in ("separable", "grouped-separable"):
        raise config_error(
            f"`--bias-policy` applies to separable kinds only, not {kind} (use --no-bias).",
            bias_policy=args.bias_policy,
        )
    if args.no_bias and args.bias_policy not in (None, "none"):
        raise config_error("`--no-bias` contradicts `--bias-policy`.", bias_policy=args.bias_policy)
    kwargs: dict[str, Any] = {
        "stride": parse_pair("--stride", args.stride),
        "padding": parse_padding_arg(args.padding),
        "padding_mode": str(args.padding_mode),
        "dilation": parse_pair("--dilation", args.dilation),
        "bias": not args.no_bias,
    }
    if args.groups is not None:
        kwargs["groups"] = parse_positive("--groups", args.groups)
    if args.multiplier is not None:
        kwargs["depth_multiplier"] = parse_positive("--multiplier", args.multiplier)
    if args.bias_policy is not None:
        kwargs["bias_policy"] = str(args.bias_policy)
    out = parse_positive("--out", args.out) if args.out is not None else None
    kernel = parse_pair("--kernel", args.kernel) if args.kernel is not None else None
    spec = make_spec(kind, shape[0], out, kernel, **kwargs)
    return spec, shape, parse_positive("--batch", args.batch), parse_dtype(args.dtype)


def run(args: argparse.Namespace) -> int:
    """Print the layer report (table, --explain derivations, or --json)."""
    from convwise.cli.common import print_json
    from convwise.core import layer_cost
    from convwise.views import console, render_cost, render_explanations, render_legend

    spec, shape, batch, dtype = spec_from_args(args)
    cost = layer_cost(spec, shape, batch=batch, dtype=dtype)
    if args.json:
        print_json(cost.to_dict(explain=args.explain))  # shapes stay N, C, H, W (docs/cost-model.md)
        return 0
    con = console()
    render_cost(con, cost, channels_last=args.channels_last)
    if args.explain:
        con.print()
        render_legend(con)
        render_explanations(con, cost.explanations, "How each number is derived")
    return 0
