"""ONNX export with a dynamic batch axis, onnxruntime sessions, int8 quantisation (dynamic and static QDQ).

The exporter is `torch.onnx.export(..., dynamo=True)`, the default of torch >= 2.9 and the one the PyTorch
team maintains (the TorchScript exporter is deprecated). It needs `onnxscript`. Weights are embedded in the
one `.onnx` file (`external_data=False`), so a model below 2 GB is a single file.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
import tempfile
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from convwise.core.errors import config_error, missing_extra
from convwise.fileio import atomic_path
from convwise.machine import int8_saturates

INPUT_NAME = "input"
OUTPUT_NAME = "logits"
DEFAULT_OPSET = 18
QUANTIZE_MODES = ("dynamic", "static")


def _require(package: str) -> Any:
    try:
        return __import__(package)
    except ImportError:
        raise missing_extra(package, "export", "ONNX export") from None


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence the exporter's progress prints, warnings and INFO logs (errors still raise)."""
    loggers = [logging.getLogger(n) for n in ("torch.onnx", "torch.export", "torch._dynamo", "onnxscript")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def _export_failure(exc: BaseException) -> str:
    """A one-line reason from an exporter exception (and its causes), naming the operator when it can."""
    texts = []
    seen: BaseException | None = exc
    while seen is not None and len(texts) < 8:
        texts.append(f"{type(seen).__name__}: {seen}")
        seen = seen.__cause__ or seen.__context__
    text = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(texts))
    for pattern in (
        r"No ONNX function found for <OpOverload\(op='([^']+)'",
        r"target=torch\.ops\.([A-Za-z0-9_.]+?)(?:\.default)?\]",
        r"(aten::[A-Za-z0-9_.]+)",
        r"(aten\.[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)?)",
        r"operator '([^']+)'",
    ):
        match = re.search(pattern, text)
        if match:
            return f"operator {match.group(1)} is not supported by the ONNX exporter"
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return first[:200]


def export_onnx(
    model: nn.Module,
    path: str | Path,
    input_shape: Sequence[int],
    *,
    opset: int = DEFAULT_OPSET,
) -> Path:
    """Export `model` to ONNX with a dynamic batch axis.

    Args:
        model: the module (exported in eval mode; it is not changed otherwise).
        path: the `.onnx` file to write.
        input_shape: per-sample input shape (C, H, W).
        opset: ONNX opset version.

    Returns:
        `path`. The graph has one input `input` (batch, C, H, W) and one output `logits` (batch, ...).

    Raises:
        ConfigError: the exporter cannot handle the model (the message names the operator when it can).
        MissingDependencyError: `onnx` / `onnxscript` are not installed.
    """
    _require("onnx")
    _require("onnxscript")
    path = Path(path)
    was_training = model.training
    model.eval()
    example = torch.randn(2, *input_shape)  # batch 2: a batch of 1 would be specialised away
    try:
        with _quiet():
            program = torch.onnx.export(
                model,
                (example,),
                None,  # converted in memory: a file that cannot be written is not the model's fault
                dynamo=True,
                external_data=False,
                opset_version=opset,
                input_names=[INPUT_NAME],
                output_names=[OUTPUT_NAME],
                dynamic_shapes=({0: torch.export.Dim("batch", min=1, max=65536)},),
                optimize=True,
                verify=False,
            )
    except Exception as exc:
        raise config_error(
            f"The model cannot be exported to ONNX: {_export_failure(exc)}.", model=type(model).__name__
        ) from exc
    finally:
        model.train(was_training)
    with _quiet(), atomic_path(path) as tmp:
        program.save(str(tmp), external_data=False)
    return path


def session(path: str | Path, *, threads: int | None = None, optimize: bool = True) -> Any:
    """An onnxruntime CPU `InferenceSession` for `path`.

    Args:
        path: an `.onnx` file.
        threads: intra-op threads (None: onnxruntime's default, one per physical core).
        optimize: keep onnxruntime's default graph optimisations (all levels); False disables them.
    """
    ort = _require("onnxruntime")
    options = ort.SessionOptions()
    options.log_severity_level = 3
    if threads is not None:
        options.intra_op_num_threads = threads
    if not optimize:
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def run(sess: Any, x: np.ndarray | torch.Tensor, batch_size: int = 256) -> np.ndarray:
    """Run an onnxruntime session on `x` (N, C, H, W) in batches; returns the concatenated first output."""
    arr = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
    arr = np.ascontiguousarray(arr, dtype=np.float32)
    name = sess.get_inputs()[0].name
    outs = [sess.run(None, {name: arr[i : i + batch_size]})[0] for i in range(0, len(arr), batch_size)]
    return np.concatenate(outs, axis=0)


def max_abs_diff(path: str | Path, model: nn.Module, x: torch.Tensor) -> float:
    """Largest absolute difference between onnxruntime's output for `path` and `model(x)` (eval mode)."""
    model.eval()
    with torch.inference_mode():
        ref = model(x).float().numpy()
    got = run(session(path), x)
    return float(np.max(np.abs(got - ref)))


class _Calibration:
    """onnxruntime `CalibrationDataReader` over an array of calibration inputs."""

    def __init__(self, name: str, data: np.ndarray, batch_size: int) -> None:
        self._batches = iter([{name: data[i : i + batch_size]} for i in range(0, len(data), batch_size)])

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._batches, None)

    def rewind(self) -> None:  # pragma: no cover - only used by some calibrators
        pass


def quantize(
    src: str | Path,
    dst: str | Path,
    mode: str,
    *,
    calibration: np.ndarray | torch.Tensor | None = None,
    per_channel: bool = True,
    reduce_range: bool | None = None,
) -> Path:
    """Quantise an fp32 ONNX model to int8 with onnxruntime.

    Args:
        src: the fp32 `.onnx` file.
        dst: the int8 file to write.
        mode: `dynamic` (int8 weights, activations quantised at run time) or `static` (QDQ format,
            activation ranges calibrated with MinMax on `calibration`).
        calibration: representative inputs (N, C, H, W), already normalised; required for `static`.
        per_channel: per-output-channel weight scales.
        reduce_range: 7-bit weights. `None` (default) chooses them on an x86 CPU without VNNI, where
            onnxruntime's int8 kernels saturate with full 8-bit weights (`convwise.machine.int8_saturates`;
            seen: logits off by half their range on AVX2); elsewhere full 8-bit weights.

    Returns:
        `dst`.

    Raises:
        ConfigError: unknown mode, or `static` without calibration data.
    """
    if mode not in QUANTIZE_MODES:
        raise config_error(f"`quantize` must be one of {', '.join(QUANTIZE_MODES)}.", quantize=mode)
    _require("onnxruntime")
    from onnxruntime import quantization as q

    if reduce_range is None:
        reduce_range = int8_saturates()
    src, dst = Path(src), Path(dst)
    with (
        _quiet(),
        tempfile.TemporaryDirectory(prefix="convwise-quantize-") as scratch,
        atomic_path(dst) as out,
    ):
        pre = Path(scratch) / "preprocessed.onnx"
        try:
            q.shape_inference.quant_pre_process(str(src), str(pre), skip_symbolic_shape=True)
            model_in = pre
        except Exception:  # pre-processing is an optimisation; quantise the original when it fails
            model_in = src
        if mode == "dynamic":
            q.quantize_dynamic(
                str(model_in),
                str(out),
                weight_type=q.QuantType.QInt8,
                per_channel=per_channel,
                reduce_range=reduce_range,
            )
        else:
            if calibration is None or len(calibration) == 0:
                raise config_error("Static quantisation needs `calibration` images.", calibration=None)
            data = calibration.numpy() if isinstance(calibration, torch.Tensor) else calibration
            data = np.ascontiguousarray(data, dtype=np.float32)
            q.quantize_static(
                str(model_in),
                str(out),
                _Calibration(INPUT_NAME, data, 32),
                quant_format=q.QuantFormat.QDQ,
                activation_type=q.QuantType.QUInt8,
                weight_type=q.QuantType.QInt8,
                per_channel=per_channel,
                reduce_range=reduce_range,
                calibrate_method=q.CalibrationMethod.MinMax,
            )
    return dst


def accuracy(sess: Any, x: torch.Tensor, y: torch.Tensor) -> float:
    """Top-1 accuracy of an onnxruntime session on (x, y)."""
    logits = run(sess, x)
    return float((logits.argmax(axis=1) == y.numpy()).mean())
