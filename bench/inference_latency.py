"""Inference latency goals: MobileNet v1 1.0-224, the seed Fashion CNN and the KWS CNN on every backend.

Measures, side by side in one run (backends interleaved, order rotating every round), eager NCHW, the
optimised eager path (`convwise.deploy.optimize`), `torch.compile` of it, onnxruntime fp32 / int8 and, when
the extras are installed, OpenVINO with fp32 forced (`openvino`) and ExecuTorch with the XNNPACK delegate
(`executorch`), at batch 1 and 32, then prints the backend
tables (each row with its precision), the roofline prediction per layer and the goals:

- best fp32 path convwise deploys to (eager / optimized / native / compiled / ov-fp32 / et-fp32) <= 1.0x
  onnxruntime's default-session latency, and the best PyTorch path's ratio beside it,
- best fp32 path within 1.25x of the roofline prediction,
- optimised eager >= 1.5x faster than plain eager NCHW.

The header names the CPU (model, the SIMD/AMX flags that decide the kernels) and the load average.

Each model runs in its own process (this script again, with `--model-only`), so one model's leftovers
(compiled graphs, lowered programs, a heap grown by batch-32 activations) cannot slow the next one. Each
process runs with `convwise.deploy.tune_allocator()` (glibc keeps freed memory instead of unmapping
it; it applies to every backend alike) unless `--default-malloc` is given.

Usage:
    python bench/inference_latency.py                      # all three models, batch 1 and 32
    python bench/inference_latency.py --models mobilenet_v1 --threads 1,2 --json out.json

The machine is shared: read ratios between backends of the same run, not absolute times. Not a test.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import os
import sys
import time
from pathlib import Path

import torch

from convwise.deploy import tune_allocator
from convwise.machine import cpu_flags, cpu_model
from convwise.measure.latency import DEFAULT_BACKENDS, run_benchmark
from convwise.measure.tables import print_report
from convwise.models import resolve_target

MODELS = ("mobilenet_v1", "fashion_separable_cnn", "kws_cnn")
#: CPU flags that decide which kernels oneDNN, MLAS and OpenVINO use.
FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_bf16", "amx_int8")


def cpu_description() -> str:
    """'Intel(R) Xeon(R) … | avx2 avx512f … | 2 CPUs', from convwise.machine."""
    flags = cpu_flags()
    have = " ".join(f for f in FLAGS if f in flags) or "none of " + ",".join(FLAGS)
    return f"{cpu_model()} | {have} | {os.cpu_count()} CPUs"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS), help="comma-separated zoo names")
    parser.add_argument("--batch", default="1,32", help="batch sizes (default 1,32)")
    parser.add_argument("--threads", default=None, help="thread counts (default: torch's current count)")
    default = list(DEFAULT_BACKENDS)
    default.insert(default.index("optimized") + 1, "native")  # convwise's C++ kernels (built on first use)
    if importlib.util.find_spec("openvino") is not None:
        default.append("ov-fp32")
    if importlib.util.find_spec("executorch") is not None:
        default.append("et-fp32")
    parser.add_argument("--backends", default=",".join(default), help="(default: %(default)s)")
    parser.add_argument("--no-compile", action="store_true", help="skip torch.compile (slow to compile)")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--max-seconds", type=float, default=90.0, help="timing cap per batch size")
    parser.add_argument("--top", type=int, default=None, help="only the N slowest layers per table")
    parser.add_argument("--json", type=Path, help="also write all results as JSON to this file")
    parser.add_argument(
        "--default-malloc",
        action="store_true",
        help="keep glibc's default allocator settings (default: deploy.tune_allocator(), for all backends)",
    )
    parser.add_argument("--model-only", action="store_true", help=argparse.SUPPRESS)  # one child process
    args = parser.parse_args(argv)
    if not args.model_only:
        return _per_model_processes(args, sys.argv[1:] if argv is None else argv)

    batches = [int(b) for b in args.batch.split(",")]
    threads = [int(t) for t in args.threads.split(",")] if args.threads else None
    backends = [b for b in args.backends.split(",") if not (args.no_compile and b == "compiled")]
    tuned = False if args.default_malloc else tune_allocator()
    print(f"# allocator: {'tuned (deploy.tune_allocator)' if tuned else 'default'}")
    results = []
    for name in args.models.split(","):
        loaded = resolve_target(name)
        assert loaded.input_shape is not None
        start = time.perf_counter()
        result = run_benchmark(
            loaded.model,
            loaded.input_shape,
            name=name,
            batch_sizes=batches,
            thread_counts=threads,
            backends=backends,
            warmup=args.warmup,
            repeats=args.repeats,
            progress=sys.stderr.isatty(),
            max_seconds=args.max_seconds,
        )
        print(f"\n## {name}  ({time.perf_counter() - start:.0f} s)")
        print_report(result, layers=True, top=args.top)
        results.append(result.as_dict())
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


def _per_model_processes(args: argparse.Namespace, argv: list[str]) -> int:
    """Run each model in a fresh process (this script with --model-only) and print the header once.

    One process per model: after a large model's export, lowering and batch-32 runs, the tuned glibc heap
    (`deploy.tune_allocator`, which never gives memory back) made a small model's PyTorch calls 2-4x
    slower in the same process (measured: the seed CNN's eager path 1.2 -> 2.5 ms after lowering
    MobileNet for ExecuTorch, and 1.7 -> 7.2 ms after the whole MobileNet benchmark), while onnxruntime's
    own arena was unaffected.
    """
    import subprocess
    import tempfile

    print(
        f"# inference latency  {time.strftime('%Y-%m-%d %H:%M:%S')}  torch {torch.__version__}  "
        f"{_versions()}  {torch.get_num_threads()} torch threads by default  one process per model"
    )
    print(f"# CPU: {cpu_description()}")
    print(f"# load average at start: {_load()}", flush=True)
    rest = _without(argv, ("--models", "--json"))
    results = []
    with tempfile.TemporaryDirectory(prefix="convwise-latency-") as tmp:
        for name in args.models.split(","):
            out = Path(tmp) / f"{name}.json"
            cmd = [sys.executable, __file__, *rest, "--models", name, "--json", str(out), "--model-only"]
            code = subprocess.run(cmd, check=False).returncode
            if code != 0:
                return code
            results.extend(json.loads(out.read_text()))
    print(f"\n# load average at end: {_load()}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
        print(f"\nwrote {args.json}")
    return 0


def _without(argv: list[str], flags: tuple[str, ...]) -> list[str]:
    """`argv` without the given flags and their values (`--flag value` or `--flag=value`)."""
    out: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg in flags:
            skip = True
        elif not arg.startswith(tuple(f + "=" for f in flags)):
            out.append(arg)
    return out


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f} (1/5/15 min, {os.cpu_count()} CPUs)"


def _versions() -> str:
    out = []
    for name in ("onnxruntime", "openvino", "executorch"):
        if importlib.util.find_spec(name) is not None:
            out.append(f"{name} {importlib.metadata.version(name).split('-')[0]}")
    return "  ".join(out)


if __name__ == "__main__":
    sys.exit(main())
