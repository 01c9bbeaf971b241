"""Latency benchmark of one model on every inference backend, interleaved, with a roofline next to it (the
result objects are in `convwise.measure.results`).

Backends (names used in tables and `--backends`):

- `eager`          the model as given, NCHW, eval mode, `torch.inference_mode`.
- `optimized`      `convwise.deploy.optimize(model)`: BatchNorm folded, channels-last, each conv one oneDNN
                   call with prepacked weights and its ReLU fused, inference mode.
- `native`         `optimize(native=True)`: the same, with the convs run by convwise's C++ kernels (activation
                   fused, each depthwise → 1×1 pair as one kernel; `convwise.deploy.native`).
- `compiled`       `optimize(compile=True)`: Inductor with freezing (compiled during warm-up, per batch size).
- `ort-fp32`       onnxruntime, a default `InferenceSession` (all graph optimisations), fp32 ONNX export.
- `ort-int8-dyn`   onnxruntime on the dynamic int8 model.
- `ort-int8-qdq`   onnxruntime on the static (QDQ) int8 model (calibrated on random inputs unless given data).
- `ov-fp32`        OpenVINO (extra `openvino`) on the fp32 ONNX export, fp32 forced
                   (`INFERENCE_PRECISION_HINT`: on a CPU with AMX it would silently run bf16), one stream.
- `ov-bf16`        the same in bfloat16, where the CPU has it (marked bf16: not an fp32 figure).
- `et-fp32`        ExecuTorch (extra `executorch`): the module lowered with `torch.export` to the XNNPACK
                   delegate, one static shape per batch size (lowered before timing).

Every row says its precision: the one the runtime reports for OpenVINO, the model's dtype for the others.

Timing: every backend is warmed up, then the backends take turns (the order rotates every round), so load
from other processes hits all of them alike. Each figure is the median (and 90th percentile) of the rounds.
"""

from __future__ import annotations

import contextlib
import functools
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from convwise.core.errors import config_error
from convwise.measure import et_runtime, ov_runtime
from convwise.measure.results import BenchResult, Roofline, Timing
from convwise.measure.roofline import MachinePeak, measure_layers, probe_machine, roofline_layers, threads
from convwise.profile import profile

BACKENDS: tuple[str, ...] = (
    "eager",
    "optimized",
    "native",
    "compiled",
    "ort-fp32",
    "ort-int8-dyn",
    "ort-int8-qdq",
    "ov-fp32",
    "ov-bf16",
    "et-fp32",
)
DEFAULT_BACKENDS: tuple[str, ...] = ("eager", "optimized", "compiled", "ort-fp32", "ort-int8-qdq")
#: Precision of each backend's row, where the backend itself does not report it.
PRECISION: dict[str, str] = {"ort-fp32": "fp32", "ort-int8-dyn": "int8", "ort-int8-qdq": "int8"}


@contextlib.contextmanager
def _progress(total: int, enabled: bool) -> Iterator[Callable[[str], None]]:
    if not enabled:
        yield lambda _desc: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description:<34}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task("benchmark", total=total)

        def advance(desc: str) -> None:
            bar.update(task, advance=1, description=desc)

        yield advance


def _torch_runner(module: nn.Module, x: torch.Tensor) -> Callable[[], Any]:
    def call() -> Any:
        with torch.inference_mode():
            return module(x)

    return call


def _ort_runner(sess: Any, x: np.ndarray) -> Callable[[], Any]:
    name = sess.get_inputs()[0].name
    return lambda: sess.run(None, {name: x})


def _build_onnx(
    model: nn.Module, input_shape: Sequence[int], backends: Sequence[str], folder: Path, calibration: Any
) -> dict[str, Path]:
    from convwise.export import onnx_io

    files: dict[str, Path] = {}
    fp32 = folder / "model.onnx"
    onnx_io.export_onnx(model, fp32, input_shape)
    files["ort-fp32"] = fp32
    if "ort-int8-dyn" in backends:
        files["ort-int8-dyn"] = onnx_io.quantize(fp32, folder / "model.int8-dynamic.onnx", "dynamic")
    if "ort-int8-qdq" in backends:
        calib = calibration if calibration is not None else torch.randn(16, *input_shape)
        files["ort-int8-qdq"] = onnx_io.quantize(
            fp32, folder / "model.int8-static.onnx", "static", calibration=calib
        )
    return files


def run_benchmark(
    model: nn.Module,
    input_shape: Sequence[int],
    *,
    name: str = "model",
    batch_sizes: Sequence[int] = (1,),
    thread_counts: Sequence[int] | None = None,
    backends: Sequence[str] = DEFAULT_BACKENDS,
    warmup: int = 3,
    repeats: int = 20,
    roofline: bool = True,
    layer_repeats: int = 5,
    calibration: torch.Tensor | None = None,
    progress: bool = False,
    max_seconds: float | None = None,
) -> BenchResult:
    """Measure `model` on each backend, batch size and thread count, interleaved, plus the roofline.

    Args:
        model: the module (not changed).
        input_shape: per-sample input shape (C, H, W).
        name: the model's name for reports.
        batch_sizes: batch sizes to measure.
        thread_counts: intra-op thread counts (default: torch's current count).
        backends: a subset of `BACKENDS`.
        warmup: untimed runs per backend before timing (`compiled` compiles during its first run).
        repeats: timed rounds; every round runs each backend once, in rotating order.
        roofline: probe the machine and predict/measure per layer (on the `optimized` model).
        layer_repeats: passes for the per-layer measurement.
        calibration: inputs to calibrate the static int8 model (random inputs when None: latency only).
        progress: show a progress bar on stderr.
        max_seconds: stop adding rounds for a batch size after this long (at least 3 rounds are kept).

    Returns:
        The `BenchResult`.

    Raises:
        ConfigError: unknown backend, non-positive batch size, warm-up, repeats or thread count.
        MissingDependencyError: an `ov-*` backend without the extra `openvino`, `et-fp32` without the
            extra `executorch`.

    Example:
        >>> from torch import nn
        >>> net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU())
        >>> result = run_benchmark(net, (1, 8, 8), backends=["eager", "optimized"], roofline=False, repeats=2)
        >>> sorted((t.backend, t.precision, len(t.samples)) for t in result.timings)
        [('eager', 'fp32', 2), ('optimized', 'fp32', 2)]
    """
    from convwise.deploy import optimize

    unknown = [b for b in backends if b not in BACKENDS]
    if unknown:
        raise config_error(f"`backends` must be among {', '.join(BACKENDS)}.", backends=",".join(unknown))
    if not backends:
        raise config_error("`backends` must name at least one backend.", backends="")
    for arg, values in (("batch", batch_sizes), ("threads", thread_counts or [1])):
        if not values or any(int(v) < 1 for v in values):
            raise config_error(f"`{arg}` values must be positive integers.", **{arg: list(values or [])})
    if repeats < 1 or warmup < 0:
        raise config_error("`repeats` must be >= 1 and `warmup` >= 0.", repeats=repeats, warmup=warmup)
    if any(b.startswith("ov-") for b in backends):
        ov_runtime.require()  # before minutes of measuring: the error names the extra
    if "et-fp32" in backends:
        et_runtime.require()
    thread_counts = list(thread_counts or [torch.get_num_threads()])
    model = model.eval()
    x_dtype = next((p.dtype for p in model.parameters() if p.is_floating_point()), torch.float32)
    result = BenchResult(model=name, input_shape=tuple(input_shape))

    needs_opt = any(b in backends for b in ("optimized", "compiled")) or roofline
    example = torch.randn(1, *input_shape, dtype=x_dtype)
    optimized = optimize(model, example=example) if needs_opt else None
    compiled = optimize(model, example=example, compile=True) if "compiled" in backends else None
    native = optimize(model, example=example, native=True) if "native" in backends else None

    total = (
        len(batch_sizes) * len(thread_counts) * (len(backends) * (warmup + repeats) + (2 if roofline else 0))
    )
    with tempfile.TemporaryDirectory(prefix="convwise-bench-") as tmp, _progress(total, progress) as advance:
        onnx_files: dict[str, Path] = {}
        if any(b.startswith(("ort", "ov")) for b in backends):
            onnx_files = _build_onnx(model, input_shape, backends, Path(tmp), calibration)
        for n_threads in thread_counts:
            sessions: dict[str, Any] = {}
            if onnx_files:
                from convwise.export import onnx_io

                sessions = {
                    b: onnx_io.session(p, threads=n_threads) for b, p in onnx_files.items() if b in backends
                }
            precision = {b: PRECISION.get(b, str(x_dtype).removeprefix("torch.")) for b in backends}
            precision = {b: "fp32" if p == "float32" else p for b, p in precision.items()}
            peak = probe_machine(n_threads) if roofline else None
            if peak is not None:
                result.peaks.append(peak)
            for batch in batch_sizes:
                with threads(n_threads):
                    x = torch.randn(batch, *input_shape, dtype=x_dtype)
                    runners: dict[str, Callable[[], Any]] = {}
                    for b in backends:
                        if b == "eager":
                            runners[b] = _torch_runner(model, x)
                        elif b == "optimized" and optimized is not None:
                            runners[b] = _torch_runner(optimized, x)
                        elif b == "native" and native is not None:
                            runners[b] = _torch_runner(native, x)
                        elif b == "compiled" and compiled is not None:
                            runners[b] = _torch_runner(compiled, x)
                        elif b in sessions:
                            runners[b] = _ort_runner(sessions[b], x.numpy())
                        elif b.startswith("ov-"):
                            compiled_ov = ov_runtime.compile_onnx(
                                onnx_files["ort-fp32"], tuple(x.shape), threads=n_threads, precision=b[3:]
                            )
                            runners[b] = functools.partial(compiled_ov, x.numpy())
                            precision[b] = compiled_ov.precision
                        elif b == "et-fp32":
                            lowered = et_runtime.lower_xnnpack(model, tuple(x.shape), threads=n_threads)
                            runners[b] = functools.partial(lowered, x)
                            precision[b] = lowered.precision
                    timings = {
                        b: Timing(b, batch, n_threads, [], warmup, precision=precision[b]) for b in runners
                    }
                    for b, fn in runners.items():
                        start = time.perf_counter()
                        for _ in range(warmup):
                            try:
                                fn()
                            except Exception as exc:  # e.g. torch.compile without a working C++ compiler
                                result.skipped[b] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}"
                                break
                            advance(f"warm-up {b} (batch {batch}, {n_threads} thr)")
                        timings[b].setup_s = time.perf_counter() - start
                    live = [b for b in runners if b not in result.skipped]
                    started = time.perf_counter()
                    for r in range(repeats):
                        order = live[r % len(live) :] + live[: r % len(live)] if live else []
                        for b in order:
                            t0 = time.perf_counter()
                            runners[b]()
                            timings[b].samples.append(time.perf_counter() - t0)
                            advance(f"timing (batch {batch}, {n_threads} thr)")
                        if max_seconds is not None and r >= 2 and time.perf_counter() - started > max_seconds:
                            break
                    result.timings.extend(timings[b] for b in live)
                    if peak is not None and optimized is not None:
                        report = profile(model, tuple(input_shape), batch=batch)
                        layers = roofline_layers(report, removed=optimized.removed)
                        advance(f"per-layer costs (batch {batch})")
                        xl = x.contiguous(memory_format=torch.channels_last) if x.dim() == 4 else x
                        measured = measure_layers(optimized.model, xl, layers, repeats=layer_repeats)
                        advance(f"per-layer timing (batch {batch})")
                        flops = int(report.totals["flops"])
                        result.rooflines.append(
                            Roofline(batch, n_threads, layers, measured, peak, flops, report.status)
                        )
            if peak is not None:  # probe again at the end and keep the best of both (shared machine)
                best = _best_peak(peak, probe_machine(n_threads))
                result.peaks[-1] = best
                for roof in result.rooflines:
                    if roof.threads == n_threads:
                        roof.peak = best
    return result


def _best_peak(a: MachinePeak, b: MachinePeak) -> MachinePeak:
    return MachinePeak(
        a.threads,
        max(a.gflops, b.gflops),
        max(a.dram_gbs, b.dram_gbs),
        max(a.cache_gbs, b.cache_gbs),
        a.cache_bytes,
    )
