"""`convwise draw KIND …`: a figure of one convolution variant (SVG or PNG), drawn from its real arguments.

Takes the same arguments as `convwise layer`; `-o PATH` (repeatable) picks the format by suffix.
"""

from __future__ import annotations

import argparse

HELP = "Draw one convolution variant (SVG/PNG): channel slices, filters by group, taps, stride, counts."
DESCRIPTION = (
    "Draw a convolution of KIND on an input CxHxW, with the same arguments as `convwise layer`: the input "
    "as channel slices with its padding, the filters coloured by group, the depthwise / pointwise split, "
    "the dilated taps and stride of the first windows, and the output, annotated with the output shape, "
    "parameters and multiplications from the exact cost engine. -o PATH (.svg or .png, repeatable)."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's arguments: those of `convwise layer`, plus the output files."""
    from convwise.cli import cmd_layer

    cmd_layer.add_arguments(parser)
    parser.add_argument(
        "-o",
        "--output",
        metavar="PATH",
        action="append",
        help="file to write, .svg or .png by suffix; repeat for both (default: KIND.svg)",
    )
    parser.add_argument("--scale", type=float, default=2.0, help="PNG pixels per SVG unit (default: 2)")
    parser.add_argument(
        "--max-channels", type=int, default=8, help="channel slices drawn at most (default 8)"
    )
    parser.add_argument("--max-filters", type=int, default=6, help="filters drawn at most (default 6)")


def run(args: argparse.Namespace) -> int:
    """Write the figure(s); print where (or JSON with the layer report and the files)."""
    from convwise.cli.cmd_layer import spec_from_args
    from convwise.cli.common import print_json
    from convwise.core import config_error, layer_cost
    from convwise.viz.draw import draw_cost
    from convwise.viz.panels import DrawOptions

    spec, shape, batch, dtype = spec_from_args(args)
    for flag, value in (("--max-channels", args.max_channels), ("--max-filters", args.max_filters)):
        if value < 3:
            raise config_error(f"`{flag}` must be at least 3.", **{flag.lstrip("-").replace("-", "_"): value})
    cost = layer_cost(spec, shape, batch=batch, dtype=dtype)
    canvas = draw_cost(cost, DrawOptions(max_channels=args.max_channels, max_filters=args.max_filters))
    outputs = args.output or [f"{spec.kind}.svg"]
    written = [str(p) for p in canvas.save_all(outputs, scale=args.scale)]  # all files or none
    if args.json:
        payload = {"files": written, "width": canvas.width, "height": canvas.height}
        print_json({**payload, "layer": cost.to_dict(explain=args.explain)})
        return 0
    for path in written:
        print(f"wrote {path}")
    if args.explain:
        print()
        print("\n".join(e.text() for e in cost.explanations))
    return 0
