"""TFLite export the seed's way: `litert-torch` conversion, dynamic-range int8 with `ai-edge-quantizer`.

Optional extra `tflite` (litert-torch, ai-edge-quantizer); without it every function raises a one-line
`MissingDependencyError` naming the extra. Inputs and outputs keep PyTorch's (N, C, H, W) layout; the batch
size of a TFLite file is fixed at conversion (1 by default).
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from convwise.core.errors import config_error, missing_extra
from convwise.fileio import atomic_path, atomic_write_bytes

TFLITE_QUANTIZE_MODES = ("dynamic",)


def available() -> bool:
    """True when the `tflite` extra (litert-torch and ai-edge-quantizer) can be imported."""
    try:
        import ai_edge_quantizer  # noqa: F401
        import litert_torch  # noqa: F401
    except Exception:
        return False
    return True


def _require() -> None:
    try:
        import litert_torch  # noqa: F401
    except Exception:
        raise missing_extra("litert-torch", "tflite", "TFLite export") from None


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    previous = logging.root.level
    logging.root.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        logging.root.setLevel(previous)


def export_tflite(
    model: nn.Module,
    path: str | Path,
    input_shape: Sequence[int],
    *,
    batch_size: int = 1,
    quantize: str | None = None,
) -> Path:
    """Convert `model` to a `.tflite` file, optionally with dynamic-range int8 weights.

    Args:
        model: the module (converted in eval mode).
        path: the `.tflite` file to write.
        input_shape: per-sample input shape (C, H, W).
        batch_size: the fixed batch size of the TFLite graph.
        quantize: None (float32) or `dynamic` (int8 weights, float activations: ai-edge-quantizer's
            `dynamic_wi8_afp32`, the equivalent of the seed's `tf.lite.Optimize.DEFAULT`).

    Returns:
        `path`.

    Raises:
        MissingDependencyError: the `tflite` extra is not installed.
        ConfigError: unknown quantisation mode, or the converter cannot handle the model.
    """
    if quantize is not None and quantize not in TFLITE_QUANTIZE_MODES:
        raise config_error(
            f"TFLite `quantize` must be one of {', '.join(TFLITE_QUANTIZE_MODES)} (or omitted).",
            quantize=quantize,
        )
    _require()
    import litert_torch

    path = Path(path)
    model = model.eval()
    example = (torch.randn(batch_size, *input_shape),)
    try:
        with _quiet():
            edge = litert_torch.convert(model, example)
            if quantize is not None:
                from ai_edge_quantizer import quantizer, recipe

                q = quantizer.Quantizer(edge.model_content(), recipe.dynamic_wi8_afp32())
                result = q.quantize(enable_progress_bar=False, enable_progress_report=False)
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise config_error(
            f"The model cannot be converted to TFLite: {type(exc).__name__}: {first}",
            model=type(model).__name__,
        ) from exc
    # written after the conversion: a file that cannot be written is not the model's fault
    if quantize is None:
        with _quiet(), atomic_path(path) as tmp:
            edge.export(str(tmp))
    else:
        atomic_write_bytes(bytes(result.quantized_model), path)
    return path


def interpreter(path: str | Path, *, threads: int | None = None) -> Any:
    """A LiteRT interpreter for `path`, tensors allocated."""
    _require()
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_path=str(path), num_threads=threads)
    interp.allocate_tensors()
    return interp


def run(interp: Any, x: np.ndarray | torch.Tensor) -> np.ndarray:
    """Run a LiteRT interpreter on `x` (N, C, H, W), in chunks of the graph's fixed batch size."""
    arr = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
    arr = np.ascontiguousarray(arr, dtype=np.float32)
    inp = interp.get_input_details()[0]
    out = interp.get_output_details()[0]
    batch = int(inp["shape"][0])
    outs = []
    for i in range(0, len(arr), batch):
        chunk = arr[i : i + batch]
        if len(chunk) < batch:  # pad the last chunk to the fixed batch size
            chunk = np.concatenate([chunk, np.zeros((batch - len(chunk), *chunk.shape[1:]), np.float32)])
        interp.set_tensor(inp["index"], chunk)
        interp.invoke()
        outs.append(interp.get_tensor(out["index"])[: len(arr) - i].copy())
    return np.concatenate(outs, axis=0)


def max_abs_diff(path: str | Path, model: nn.Module, x: torch.Tensor) -> float:
    """Largest absolute difference between the LiteRT interpreter's output for `path` and `model(x)`."""
    model.eval()
    with torch.inference_mode():
        ref = model(x).float().numpy()
    return float(np.max(np.abs(run(interpreter(path), x) - ref)))


def accuracy(interp: Any, x: torch.Tensor, y: torch.Tensor) -> float:
    """Top-1 accuracy of a LiteRT interpreter on (x, y)."""
    return float((run(interp, x).argmax(axis=1) == y.numpy()).mean())
