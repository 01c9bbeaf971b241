"""`convwise bench`: latency of a model on every backend side by side, with a per-layer roofline."""

from __future__ import annotations

import argparse

from convwise.cli.common import print_json

HELP = "Latency per backend (eager, optimised, compiled, onnxruntime, OpenVINO, ExecuTorch) vs a roofline."
DESCRIPTION = (
    "Benchmark TARGET (zoo name, file.py:factory, package.module:factory, or a checkpoint) on each backend, "
    "interleaved, at the given batch sizes and thread counts: median and p90 latency, throughput, ratios. "
    "Next to it, a roofline prediction from the model's per-layer FLOPs and bytes and this machine's "
    "measured peak GFLOP/s and memory bandwidth, and per layer measured vs predicted time."
)


def _ints(flag: str, text: str) -> list[int]:
    from convwise.core.errors import config_error

    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        values = []
    if not values or min(values) < 1:
        raise config_error(
            f"`{flag}` must be positive integers separated by commas (e.g. 1,32).",
            **{flag.lstrip("-").replace("-", "_"): text},
        )
    return values


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's flags."""
    add = parser.add_argument
    add(
        "target",
        metavar="TARGET",
        help="zoo name, path/to/file.py:factory, package.module:factory or checkpoint",
    )
    add("--batch", default="1", metavar="N[,N]", help="batch sizes, comma-separated (default: 1)")
    add("--threads", metavar="T[,T]", help="intra-op thread counts (default: torch's current count)")
    add(
        "--backends",
        metavar="B[,B]",
        help="subset of eager,optimized,compiled,ort-fp32,ort-int8-dyn,ort-int8-qdq,ov-fp32,ov-bf16,et-fp32 "
        "(default: eager,optimized,compiled,ort-fp32,ort-int8-qdq; ov-* need the extra `openvino`, "
        "et-fp32 the extra `executorch`)",
    )
    add("--no-compile", action="store_true", help="skip the torch.compile backend (slow to compile)")
    add("--warmup", type=int, default=3, help="untimed runs per backend (default 3)")
    add("--repeats", type=int, default=20, help="timed rounds, backends interleaved (default 20)")
    add("--max-seconds", type=float, help="cap on timing seconds per batch size (at least 3 rounds)")
    add("--no-roofline", action="store_true", help="skip the machine probe and per-layer tables")
    add("--top", type=int, help="show only the N slowest layers in the per-layer table")
    add("--input", metavar="CxHxW", help="input shape when the model does not say")
    add("--alpha", type=float, help="width multiplier for a zoo TARGET (MobileNet's α)")
    add("--resolution", type=int, help="input side in pixels for a zoo TARGET (MobileNet)")
    add(
        "--config",
        metavar="KEY=VALUE",
        action="append",
        default=[],
        help="configuration for a TARGET's factory (repeatable), e.g. num_classes=10",
    )
    add("--no-progress", action="store_true", help="no progress bar")
    add(
        "--tune-malloc",
        action="store_true",
        help="keep freed memory in the heap (convwise.deploy.tune_allocator; all backends, glibc only)",
    )
    add("--json", action="store_true", help="print the results as JSON")


def run(args: argparse.Namespace) -> int:
    """Resolve the target, run the benchmark, print the tables (or JSON)."""
    from convwise.cli.common import target_config
    from convwise.cli.shapes import parse_input
    from convwise.core.errors import config_error
    from convwise.measure.latency import BACKENDS, DEFAULT_BACKENDS, run_benchmark
    from convwise.measure.tables import print_report
    from convwise.models.source import load_source, require_input_shape

    batches = _ints("--batch", args.batch)
    thread_counts = _ints("--threads", args.threads) if args.threads else None
    if args.backends:
        backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    else:
        backends = list(DEFAULT_BACKENDS)
    if args.no_compile:
        backends = [b for b in backends if b != "compiled"]
    unknown = [b for b in backends if b not in BACKENDS]
    if unknown:
        raise config_error(f"`--backends` must be among {', '.join(BACKENDS)}.", backends=",".join(unknown))
    if args.top is not None and args.top < 1:
        raise config_error("`--top` must be positive.", top=args.top)
    config = target_config(args)
    if args.tune_malloc:
        from convwise.deploy import tune_allocator

        tune_allocator()
    shape = parse_input(args.input) if args.input else None
    src = load_source(args.target, input_shape=shape, **config)
    input_shape = require_input_shape(src)
    result = run_benchmark(
        src.model,
        input_shape,
        name=src.name,
        batch_sizes=batches,
        thread_counts=thread_counts,
        backends=backends,
        warmup=args.warmup,
        repeats=args.repeats,
        roofline=not args.no_roofline,
        progress=not (args.no_progress or args.json),
        max_seconds=args.max_seconds,
    )
    if args.json:
        print_json(result.as_dict())
        return 0
    print_report(result, top=args.top)
    return 0
