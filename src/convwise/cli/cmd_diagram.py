"""`convwise diagram TARGET`: the model as a layer graph like Keras' plot_model (SVG or PNG)."""

from __future__ import annotations

import argparse

HELP = "Draw a model's layer graph (name, type, input/output shapes, params) as SVG/PNG, like plot_model."
DESCRIPTION = (
    "Load TARGET (a zoo name, path/to/file.py:factory or package.module:factory), trace it with torch.fx "
    "(falling back to the order its layers run) and draw one box per layer with its type, input and "
    "output shapes and parameters, arrows for the data flow and skip connections. -o PATH (.svg or "
    ".png, repeatable)."
)


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    """TARGET, --input, --channels-last and --config (shared by `diagram` and `report`)."""
    parser.add_argument(
        "target", metavar="TARGET", help="zoo name, path/to/file.py:factory or pkg.module:factory"
    )
    parser.add_argument(
        "--input", metavar="CxHxW", help="input shape of one sample (default: the model's own, if known)"
    )
    parser.add_argument("--channels-last", action="store_true", help="read --input as HxWxC")
    parser.add_argument(
        "--config",
        metavar="KEY=VALUE",
        action="append",
        default=[],
        help="configuration for the TARGET's factory (repeatable), e.g. width_multiplier=0.5",
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's arguments."""
    add_target_arguments(parser)
    parser.add_argument(
        "-o",
        "--output",
        metavar="PATH",
        action="append",
        help="file to write, .svg or .png by suffix; repeat for both (default: NAME.svg)",
    )
    parser.add_argument("--scale", type=float, default=1.5, help="PNG pixels per SVG unit (default: 1.5)")
    parser.add_argument("--json", action="store_true", help="print the graph (nodes, shapes, params) as JSON")


def load(args: argparse.Namespace) -> tuple[object, str, tuple[int, int, int]]:
    """(model, name, input (C, H, W)) from the TARGET arguments.

    Raises:
        ConfigError: bad target or config, or no input shape known.
    """
    from convwise.cli.cmd_whatif import parse_config
    from convwise.cli.shapes import parse_input
    from convwise.core import config_error
    from convwise.models import resolve_target

    loaded = resolve_target(args.target, **parse_config(args.config))
    shape = parse_input(args.input, channels_last=args.channels_last) if args.input else loaded.input_shape
    if shape is None:
        raise config_error(
            "`--input` is required: the target does not declare its input shape (CxHxW, e.g. 3x32x32).",
            target=args.target,
        )
    return loaded.model, loaded.name, tuple(shape)  # type: ignore[return-value]


def run(args: argparse.Namespace) -> int:
    """Trace, lay out, write the file(s)."""
    from convwise.cli.common import print_json
    from convwise.viz.diagram import draw_graph, model_graph

    model, name, shape = load(args)
    graph = model_graph(model, shape, name=name)
    canvas = draw_graph(graph)
    outputs = args.output or [f"{name}.svg"]
    written = [str(canvas.save(path, scale=args.scale)) for path in outputs]
    if args.json:
        print_json({"files": written, "graph": graph.to_dict()})
    else:
        for path in written:
            print(f"wrote {path}")
    return 0
