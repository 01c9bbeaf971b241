"""Helpers shared by the command modules: error reporting, JSON output, input-shape parsing.

>>> parse_config(["num_classes=10", "conv='standard'", "name=net"])
{'num_classes': 10, 'conv': 'standard', 'name': 'net'}
>>> import contextlib, io
>>> from convwise.core.errors import WriteError
>>> err = io.StringIO()
>>> with contextlib.redirect_stderr(err):
...     code = report_error(WriteError("out/x.svg", "No space left on device"))
>>> print(code, err.getvalue(), end="")
2 convwise: error: cannot write out/x.svg: No space left on device
>>> report_error(KeyError("a bug")) is None  # bugs keep their traceback
True
"""

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


#: `--input` dtype names → torch dtype names (integer inputs: token ids, lengths; bool: masks).
INPUT_DTYPES: dict[str, str] = {
    "float32": "float32", "float": "float32", "float16": "float16", "half": "float16",
    "bfloat16": "bfloat16", "float64": "float64", "double": "float64", "int64": "int64", "long": "int64",
    "int32": "int32", "int": "int32", "int16": "int16", "int8": "int8", "uint8": "uint8", "bool": "bool",
}  # fmt: skip


def parse_input_spec(text: str, *, channels_last: bool = False) -> Any:
    """`--input [DTYPE:]SHAPE` → a `convwise.profile.TensorSpec` for one sample (no batch axis).

    SHAPE is `CxHxW` (`HxWxC` with `channels_last`) for three numbers, any other rank as given
    (`128`, `16x40`); DTYPE is one of `INPUT_DTYPES` (default: the model's floating dtype).

    >>> parse_input_spec("long:128")
    TensorSpec(shape=(128,), dtype=torch.int64)
    >>> parse_input_spec("32x32x3", channels_last=True).shape
    (3, 32, 32)

    Raises:
        ConfigError: an unknown dtype, or a shape that is not positive integers separated by 'x'.
    """
    import re

    import torch

    from convwise.cli.shapes import parse_input
    from convwise.core import config_error
    from convwise.profile import TensorSpec

    raw = str(text).strip()
    kind, sep, shape_text = raw.rpartition(":")
    dtype = None
    if sep:
        name = INPUT_DTYPES.get(kind.strip().lower().removeprefix("torch."))
        if name is None:
            raise config_error(
                f"`--input` must be [DTYPE:]SHAPE, DTYPE one of {', '.join(INPUT_DTYPES)} (e.g. long:128).",
                input=text,
            )
        dtype = getattr(torch, name)
    parts = re.split(r"\s*[xX×]\s*", shape_text.strip())
    if len(parts) == 3:
        shape: tuple[int, ...] = parse_input(shape_text, channels_last=channels_last)
    elif parts and all(p.isdigit() and int(p) > 0 for p in parts):
        shape = tuple(int(p) for p in parts)
    else:
        raise config_error(
            "`--input` must be [DTYPE:]SHAPE: positive integers separated by 'x', e.g. 3x224x224 (CxHxW) "
            "or long:128 (token ids).",
            input=text,
        )
    return TensorSpec(shape, dtype)


def add_target_arguments(parser: argparse.ArgumentParser, *, zoo_scaling: bool = True) -> None:
    """TARGET, --input, --batch, --channels-last, --config (and --alpha, --resolution): every TARGET command.

    The inputs (docs/summary.md): one `--input` per forward argument, the batch explicit (`--batch`).
    """
    parser.add_argument(
        "target",
        metavar="TARGET",
        help="zoo name, path/to/file.py:factory, pkg.module:factory, a training checkpoint / run folder, "
        "or (summary) a model file: .onnx, .keras, .tflite",
    )
    parser.add_argument(
        "--input",
        metavar="[DTYPE:]SHAPE",
        action="append",
        default=[],
        help="one sample's input, repeated once per forward argument: CxHxW (e.g. 3x224x224), any other "
        "rank as given, with an optional dtype for integer inputs such as token ids (long:128); "
        "default: the model's own, if known",
    )
    parser.add_argument(
        "--batch", metavar="N", default="1", help="batch size N put in front of every input (default 1)"
    )
    parser.add_argument("--channels-last", action="store_true", help="read a three-number --input as HxWxC")
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


def _takes_images(loaded: Any) -> bool:
    """True when the model's input is an image (CxHxW): it says so, or its first layer is a 2-D conv."""
    from torch import nn

    if loaded.input_shape is not None:
        return len(tuple(loaded.input_shape)) == 3
    first = next(
        (m for m in loaded.model.modules() if next(m.parameters(recurse=False), None) is not None), None
    )
    return isinstance(first, nn.Conv2d)


def target_inputs(args: argparse.Namespace, loaded: Any) -> tuple[list[Any], int]:
    """(one `TensorSpec` per forward argument, batch N) from --input / --batch, or the target's own shape.

    Raises:
        ConfigError: a bad --input or --batch, or no input given for a target that declares none.
    """
    from convwise.cli.shapes import parse_positive
    from convwise.core import config_error
    from convwise.profile import TensorSpec

    batch = parse_positive("--batch", getattr(args, "batch", "1"))
    texts = args.input if isinstance(args.input, list) else [args.input] if args.input else []
    if texts:
        specs = [parse_input_spec(t, channels_last=args.channels_last) for t in texts]
        if len(specs) == 1 and specs[0].dtype is None and len(specs[0].shape) != 3 and _takes_images(loaded):
            from convwise.cli.shapes import parse_input

            parse_input(texts[0], channels_last=args.channels_last)  # raises the CxHxW rule, naming the text
        return specs, batch
    shape = loaded.input_shape
    if shape is None:
        raise config_error(
            "`--input` is required: the target does not declare its input shape (CxHxW, e.g. 3x32x32; "
            "long:128 for token ids).",
            target=args.target,
        )
    resolution = getattr(args, "resolution", None)
    if resolution is not None and len(shape) == 3:
        shape = (shape[0], int(resolution), int(resolution))
    return [TensorSpec(tuple(int(v) for v in shape))], batch


def load_target_args(args: argparse.Namespace, config: dict[str, Any] | None = None) -> Any:
    """Resolve the TARGET arguments to `(LoadedModel, input (C, H, W))`, for a command run per image.

    Raises:
        ConfigError: bad target or config, no input shape known, or inputs this command cannot run on
            (several inputs, an integer dtype, not CxHxW, a batch other than 1).
    """
    from convwise.core import config_error
    from convwise.models import resolve_target

    loaded = resolve_target(args.target, **(target_config(args) if config is None else config))
    specs, batch = target_inputs(args, loaded)
    command = getattr(args, "command", None) or "this command"
    if len(specs) != 1 or specs[0].dtype not in (None, *_float_dtypes()) or len(specs[0].shape) != 3:
        raise config_error(
            f"`convwise {command}` runs on one image input CxHxW; for several inputs or token ids use "
            "`convwise summary`.",
            input=args.input,
        )
    if batch != 1:
        raise config_error(f"`convwise {command}` reports one sample: `--batch` must be 1.", batch=batch)
    return loaded, specs[0].shape


def _float_dtypes() -> tuple[Any, ...]:
    import torch

    return (torch.float32, torch.float16, torch.bfloat16, torch.float64)
