"""`convwise export`: a checkpoint or TARGET to ONNX (fp32 / int8) or TFLite, verified against PyTorch."""

from __future__ import annotations

import argparse

from convwise.cli.common import print_json

HELP = "Export a checkpoint or TARGET to ONNX or TFLite (optionally int8), verified against PyTorch."
DESCRIPTION = (
    "Export MODEL_OR_CHECKPOINT (a convwise checkpoint .pt/.pth, or a TARGET built with fresh "
    "weights) to ONNX (dynamic batch axis) or TFLite, optionally quantised to int8, then check the "
    "file in onnxruntime / LiteRT against PyTorch (max abs difference) and, for a checkpoint, report "
    "test accuracy before and after."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's flags."""
    parser.add_argument(
        "source", metavar="MODEL_OR_CHECKPOINT", help="checkpoint file, or zoo name / file.py:factory"
    )
    parser.add_argument(
        "-o", "--output", required=True, metavar="PATH", help="file to write (.onnx or .tflite)"
    )
    parser.add_argument("--format", metavar="FORMAT", help="onnx or tflite (default: from the suffix of -o)")
    parser.add_argument(
        "--quantize",
        metavar="MODE",
        help="int8: `dynamic` (weights int8) or `static` (QDQ, calibrated on training images; ONNX only)",
    )
    parser.add_argument(
        "--input", metavar="CxHxW", help="input shape when the model does not say (e.g. 3x224x224)"
    )
    parser.add_argument("--alpha", type=float, help="width multiplier for a zoo TARGET (MobileNet's α)")
    parser.add_argument("--resolution", type=int, help="input side in pixels for a zoo TARGET (MobileNet)")
    parser.add_argument(
        "--data-dir", help="folder holding the checkpoint's data set (default: the usual lookup)"
    )
    parser.add_argument(
        "--config",
        metavar="KEY=VALUE",
        action="append",
        default=[],
        help="configuration for a TARGET's factory (repeatable), e.g. num_classes=10",
    )
    parser.add_argument(
        "--calibration", type=int, default=512, help="training images for static int8 (default 512)"
    )
    parser.add_argument("--test-subset", type=int, help="score on the first N test images only")
    parser.add_argument("--keep-fp32", action="store_true", help="with --quantize, keep NAME.fp32.SUFFIX too")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")


def drop_text(drop: float) -> str:
    """An accuracy change (fraction) in words: 'drop 0.06 points', 'gain 0.10 points', 'no change'.

    >>> drop_text(0.0006), drop_text(-0.001), drop_text(0.0)
    ('drop 0.06 points', 'gain 0.10 points', 'no change')
    """
    points = round(100 * drop, 2)
    if points == 0:
        return "no change"
    return f"{'drop' if points > 0 else 'gain'} {abs(points):.2f} points"


def run(args: argparse.Namespace) -> int:
    """Export, verify, print the report; exit 1 when the fp32 file disagrees with PyTorch."""
    from convwise.cli.common import target_config
    from convwise.cli.shapes import parse_input
    from convwise.core.errors import config_error
    from convwise.export.pipeline import export_model, format_for, load_eval_data
    from convwise.models.source import load_source

    fmt = format_for(args.output, args.format)
    if args.calibration < 1:
        raise config_error(
            "`--calibration` must be a positive number of images.", calibration=args.calibration
        )
    if args.test_subset is not None and args.test_subset < 1:
        raise config_error("`--test-subset` must be positive.", test_subset=args.test_subset)
    config = target_config(args)
    shape = parse_input(args.input) if args.input else None
    src = load_source(args.source, input_shape=shape, **config)
    data = load_eval_data(src, args.data_dir, test_subset=args.test_subset, calibration=args.calibration)
    report = export_model(
        src, args.output, fmt=fmt, quantize=args.quantize, data=data, keep_fp32=args.keep_fp32
    )
    if args.json:
        print_json(report.as_dict())
        return 0 if report.ok else 1
    kind = f"int8 ({report.quantize})" if report.quantize else "fp32"
    print(f"wrote {report.path}: {report.format} {kind}, {report.bytes:,} bytes", end="")
    if report.quantize:
        print(f" (fp32 {report.fp32_bytes:,} bytes, {report.bytes / report.fp32_bytes:.2f}x)")
    else:
        print()
    print(f"input (N, C, H, W) = (batch, {', '.join(str(d) for d in report.input_shape)})")
    runtime = "onnxruntime" if report.format == "onnx" else "LiteRT"
    print(f"checked in {runtime} against PyTorch on {report.verify_inputs}:")
    if report.fp32_max_abs_diff is not None:
        print(f"  fp32 max |diff| = {report.fp32_max_abs_diff:.3g}")
    label = "int8" if report.quantize else "fp32"
    print(f"  {label} max |diff| = {report.max_abs_diff:.3g} (largest |output| {report.max_abs_logit:.3g})")
    for name, acc in report.accuracy.items():
        print(f"  accuracy {name:<18} {acc:.2%}")
    if "pytorch" in report.accuracy and report.quantize:
        drop = report.accuracy["pytorch"] - report.accuracy[f"{report.format}-int8-{report.quantize}"]
        print(f"  int8 accuracy vs PyTorch: {drop_text(drop)}")
    for note in report.notes:
        print(f"  note: {note}")
    if not report.ok:
        bound = report.as_dict()["fp32_tolerance"]
        print(f"FAILED: the fp32 export differs from PyTorch by more than {bound:.3g}")
        return 1
    return 0
