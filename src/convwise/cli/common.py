"""Helpers shared by the command modules: error reporting, JSON output, input-shape parsing."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from convwise.core.errors import ConvwiseError


def report_error(exc: BaseException) -> int | None:
    """Print a user-facing error as one line on stderr and return the exit status, or None for a bug."""
    if isinstance(exc, ConvwiseError):
        print(f"convwise: error: {exc}", file=sys.stderr)
        return 2
    if isinstance(exc, FileNotFoundError):
        print(f"convwise: error: file not found: {exc.filename or exc}", file=sys.stderr)
        return 2
    return None


def print_json(payload: Any) -> None:
    """Print `payload` as indented JSON (integers stay exact)."""
    json.dump(payload, sys.stdout, indent=2, sort_keys=False, ensure_ascii=False)
    sys.stdout.write("\n")


def parse_config(items: list[str]) -> dict[str, Any]:
    """`KEY=VALUE` strings → a dict; values read as Python literals when they are, else as strings.

    Raises:
        ConfigError: an item without `=` or whose key is not a Python name.
    """
    import ast

    from convwise.core import config_error

    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip().isidentifier():
            raise config_error("`--config` must be KEY=VALUE with KEY a Python name.", config=item)
        try:
            out[key.strip()] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            out[key.strip()] = value
    return out


def add_target_arguments(
    parser: argparse.ArgumentParser,
    *,
    zoo_scaling: bool = True,
    several_inputs: bool = False,
    model_files: bool = False,
) -> None:
    """TARGET, --input, --channels-last, --config (and --alpha, --resolution): every TARGET command's.

    With `several_inputs`, `--input` may be repeated (one shape per forward argument) and is a list.
    With `model_files`, TARGET may also be a model file (.onnx, .keras, .tflite; `convwise.formats`).
    """
    what = "zoo name, path/to/file.py:factory or pkg.module:factory"
    if model_files:
        what = (
            "zoo name, path/to/file.py:factory, pkg.module:factory or a model file (.onnx, .keras, .tflite)"
        )
    parser.add_argument("target", metavar="TARGET", help=what)
    if several_inputs:
        parser.add_argument(
            "--input",
            metavar="CxHxW",
            action="append",
            default=[],
            help="shape of one sample (repeat for a model with several inputs; default: the model's own)",
        )
    else:
        parser.add_argument(
            "--input", metavar="CxHxW", help="input shape of one sample (default: the model's own, if known)"
        )
    parser.add_argument("--channels-last", action="store_true", help="read --input as HxWxC")
    parser.add_argument(
        "--config",
        metavar="KEY=VALUE",
        action="append",
        default=[],
        help="configuration for the TARGET's factory (repeatable), e.g. num_classes=10",
    )
    if zoo_scaling:
        parser.add_argument(
            "--alpha", metavar="A", help="width multiplier α of a zoo model (config width_multiplier)"
        )
        parser.add_argument(
            "--resolution", metavar="PX", help="input side in pixels of a zoo model (config resolution)"
        )


def target_config(args: argparse.Namespace) -> dict[str, Any]:
    """The factory configuration from --config, plus --alpha / --resolution when the command has them."""
    from convwise.core import config_error

    config = parse_config(getattr(args, "config", None) or [])
    alpha = getattr(args, "alpha", None)
    if alpha is not None:
        try:
            config["width_multiplier"] = float(alpha)
        except ValueError:
            raise config_error("`--alpha` must be a positive number.", alpha=alpha) from None
        if config["width_multiplier"] <= 0:
            raise config_error("`--alpha` must be a positive number.", alpha=alpha)
    resolution = getattr(args, "resolution", None)
    if resolution is not None:
        from convwise.cli.shapes import parse_positive

        config["resolution"] = parse_positive("--resolution", resolution)
    return config


def load_target_args(args: argparse.Namespace, config: dict[str, Any] | None = None) -> Any:
    """Resolve the TARGET arguments to `(LoadedModel, input (C, H, W))`.

    Raises:
        ConfigError: bad target or config, or no input shape known.
    """
    from convwise.cli.shapes import parse_input
    from convwise.core import config_error
    from convwise.models import resolve_target

    loaded = resolve_target(args.target, **(target_config(args) if config is None else config))
    shape = parse_input(args.input, channels_last=args.channels_last) if args.input else loaded.input_shape
    if shape is None:
        raise config_error(
            "`--input` is required: the target does not declare its input shape (CxHxW, e.g. 3x32x32).",
            target=args.target,
        )
    return loaded, tuple(shape)
