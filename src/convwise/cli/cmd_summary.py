"""`convwise summary TARGET`: the exact, per-layer parameters and costs of any PyTorch model, Keras-style."""

from __future__ import annotations

import argparse
from typing import Any

HELP = "per-layer parameters, MACs and other ops of any PyTorch model or model file (Keras-like summary)"
DESCRIPTION = (
    "Profile a model (zoo name, path/to/file.py:factory, package.module:factory, or a training checkpoint "
    "or run folder) with one forward pass on the meta device: parameters, MACs, FLOPs and other ops of "
    "every layer, each with its convention, and the receptive field and jump of every layer's output. "
    "Inputs: --input once per forward argument (e.g. --input 3x224x224, --input long:128 for token "
    "ids), the batch --batch N (default 1) in front of each."
)
FORMATS = ("table", "json", "csv", "markdown")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's arguments."""
    from convwise.cli.common import add_target_arguments

    add_target_arguments(parser)
    parser.add_argument(
        "--depth", metavar="D", help="fold the module tree at depth D (default: one row per layer)"
    )
    parser.add_argument("--format", choices=FORMATS, default="table", help="output format (default: table)")
    parser.add_argument("--json", action="store_true", help="same as --format json")
    parser.add_argument(
        "--keras", action="store_true", help="count BatchNorm moving mean/variance as non-trainable (Keras)"
    )
    parser.add_argument(
        "--columns",
        metavar="COLS",
        help="comma-separated columns, e.g. layer,output_shape,params,macs,flops,other_ops,status,rf "
        "(rf: receptive field and jump of each layer's output; shown by default when it fits)",
    )
    parser.add_argument(
        "--device",
        choices=("meta", "real"),
        default="meta",
        help="meta (default; real tensors only if the model cannot run on meta) or real",
    )
    parser.add_argument(
        "--explain",
        metavar="LAYER",
        help="print how the numbers of one layer were obtained (formulas, ops) instead of the table",
    )
    parser.add_argument(
        "--train", action="store_true", help="profile in training mode (default: eval mode, inference costs)"
    )
    parser.add_argument("-o", "--output", metavar="PATH", help="write the output to PATH instead of stdout")


def run(args: argparse.Namespace) -> int:
    """Resolve the target, profile it, print or write the report."""
    from convwise.cli.common import target_config, target_inputs
    from convwise.core import ConfigError, config_error
    from convwise.models import resolve_target
    from convwise.profile import parse_columns, profile

    fmt = "json" if args.json else args.format
    depth = None
    if args.depth is not None:
        if not str(args.depth).strip().isdigit():
            raise config_error("`--depth` must be a non-negative integer.", depth=args.depth)
        depth = int(str(args.depth))
    columns = parse_columns(args.columns) if args.columns else None
    loaded = resolve_target(args.target, files=True, **target_config(args))
    if loaded.file is not None:  # a model file: read, not run (convwise.formats)
        from convwise.cli.common import parse_input_spec
        from convwise.cli.shapes import parse_positive
        from convwise.formats import summarize_file

        batch = parse_positive("--batch", args.batch)
        sizes = [
            tuple(parse_input_spec(t, channels_last=args.channels_last).shape) for t in args.input
        ] or None
        report = summarize_file(loaded.file, input_shapes=sizes, batch=batch, keras=args.keras or None)
        return _emit(report, args, fmt, depth, columns)
    specs, batch = target_inputs(args, loaded)
    loaded.model.train(bool(args.train))  # the CLI owns this freshly built model
    try:
        report = profile(
            loaded.model,
            specs,
            batch=batch,
            keras=args.keras,
            device=args.device,
            name=loaded.name if loaded.zoo or loaded.checkpoint else None,  # a user factory: its class name
        )
    except ConfigError as exc:
        raise ConfigError(f"`{args.target}`: {exc}") from None
    return _emit(report, args, fmt, depth, columns)


def _emit(report: Any, args: argparse.Namespace, fmt: str, depth: int | None, columns: Any) -> int:
    """Print or write the report in the chosen format."""
    if args.explain is not None:
        print(report.explain(args.explain))
        return 0
    if fmt == "json":
        import json

        payload = report.to_dict(depth)
        payload["target"] = args.target
        text = json.dumps(payload, indent=2) + "\n"
    elif fmt == "csv":
        text = report.to_csv(depth, columns)
    elif fmt == "markdown":
        text = report.to_markdown(depth, columns)
    else:
        if args.output:
            text = report.render(depth, columns)
        else:
            report.print(depth, columns)
            return 0
    if args.output:
        from convwise.fileio import atomic_write_text

        atomic_write_text(text, args.output)
        print(f"wrote {args.output}")
    else:
        print(text, end="")
    return 0
