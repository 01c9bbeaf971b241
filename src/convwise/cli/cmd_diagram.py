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


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's arguments."""
    from convwise.cli.common import add_target_arguments

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
    from convwise.cli.common import load_target_args

    loaded, shape = load_target_args(args)
    return loaded.model, loaded.name, tuple(shape)  # type: ignore[return-value]


def run(args: argparse.Namespace) -> int:
    """Trace, lay out, write the file(s)."""
    from convwise.cli.common import print_json
    from convwise.viz.diagram import draw_graph, model_graph

    model, name, shape = load(args)
    graph = model_graph(model, shape, name=name)
    canvas = draw_graph(graph)
    outputs = args.output or [f"{name}.svg"]
    written = [str(p) for p in canvas.save_all(outputs, scale=args.scale)]  # all files or none
    if args.json:
        print_json({"files": written, "graph": graph.to_dict()})
    else:
        for path in written:
            print(f"wrote {path}")
    return 0
