"""`convwise summary TARGET`: the exact, per-layer parameters and costs of any PyTorch model, Keras-style."""

from __future__ import annotations

import argparse
import re
from typing import Any

HELP = "per-layer parameters, MACs and other ops of any PyTorch model or model file (Keras-like summary)"
DESCRIPTION = (
    "Profile a model (zoo name, path/to/file.py:factory or package.module:factory) with one forward pass on "
    "the meta device, or read a model file (.onnx, .keras, .tflite): parameters, MACs, FLOPs and other ops "
    "of every layer, each with its convention, and the receptive field and jump of every layer's output."
)
FORMATS = ("table", "json", "csv", "markdown")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's arguments."""
    from convwise.cli.common import add_target_arguments

    add_target_arguments(parser, several_inputs=True, model_files=True)
    parser.add_argument("--batch", metavar="N", default="1", help="batch size N (default 1: per sample)")
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


_SEP = re.compile(r"\s*[xX×]\s*")


def parse_shape(text: str, *, channels_last: bool = False) -> tuple[int, ...]:
    """`CxHxW` (or `HxWxC` with --channels-last) → (C, H, W); other ranks (`L`, `CxL`, …) as given."""
    from convwise.core import config_error

    parts = _SEP.split(str(text).strip())
    if len(parts) == 3:
        from convwise.cli.shapes import parse_input

        return parse_input(text, channels_last=channels_last)
    if not all(p.isdigit() and int(p) > 0 for p in parts):
        raise config_error(
            "`--input` must be positive integers separated by 'x', e.g. 3x224x224 (CxHxW).", input=text
        )
    return tuple(int(p) for p in parts)


def run(args: argparse.Namespace) -> int:
    """Resolve the target, profile it, print or write the report."""
    from convwise.cli.common import target_config
    from convwise.cli.shapes import parse_positive
    from convwise.core import ConfigError, config_error
    from convwise.models import resolve_target
    from convwise.profile import parse_columns, profile

    fmt = "json" if args.json else args.format
    batch = parse_positive("--batch", args.batch)
    depth = None
    if args.depth is not None:
        if not str(args.depth).strip().isdigit():
            raise config_error("`--depth` must be a non-negative integer.", depth=args.depth)
        depth = int(str(args.depth))
    columns = parse_columns(args.columns) if args.columns else None
    loaded = resolve_target(args.target, files=True, **target_config(args))
    if loaded.file is not None:  # a model file: read, not run
        from convwise.formats import summarize_file

        sizes = [parse_shape(t, channels_last=args.channels_last) for t in args.input] or None
        report = summarize_file(loaded.file, input_shapes=sizes, batch=batch, keras=args.keras or None)
        return _emit(report, args, fmt, depth, columns)
    if args.input:
        shapes: list[tuple[int, ...]] = [parse_shape(t, channels_last=args.channels_last) for t in args.input]
    elif loaded.input_shape is not None:
        shape = tuple(loaded.input_shape)
        if args.resolution is not None and len(shape) == 3:
            r = int(args.resolution)
            shape = (shape[0], r, r)
        shapes = [shape]
    else:
        raise config_error(
            "`--input` is required: the target does not declare its input shape (CxHxW, e.g. 3x32x32).",
            target=args.target,
        )
    loaded.model.train(bool(args.train))  # the CLI owns this freshly built model
    try:
        report = profile(
            loaded.model,
            shapes if len(shapes) > 1 else shapes[0],
            batch=batch,
            keras=args.keras,
            device=args.device,
            name=loaded.name if loaded.zoo else None,  # a user factory: its class name
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
