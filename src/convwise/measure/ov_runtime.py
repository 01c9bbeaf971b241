"""OpenVINO as an inference backend: the model's ONNX export compiled for the CPU, at a forced precision.

OpenVINO's CPU plugin picks its inference precision by itself: on a CPU with AMX or AVX-512 BF16 it runs
float32 models in bfloat16 unless told otherwise. `compile_onnx` always sets `INFERENCE_PRECISION_HINT`
(`f32` for fp32) and reports the precision the compiled model says it uses, so a table never shows a bf16
figure as fp32. The package is optional (extra `openvino`) and imported only here, on first use.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from convwise.core.errors import config_error, missing_extra

#: Our precision names → OpenVINO's `INFERENCE_PRECISION_HINT` values.
PRECISIONS: dict[str, str] = {"fp32": "f32", "bf16": "bf16"}


def require() -> Any:
    """The `openvino` module, imported on first use.

    Raises:
        MissingDependencyError: it is not installed; the message names the extra `openvino`.
    """
    try:
        import openvino
    except ImportError:
        raise missing_extra("openvino", "openvino", "The OpenVINO backend") from None
    return openvino


@dataclass
class OpenVINOModel:
    """A compiled OpenVINO model for one input shape; call it with a float32 array.

    Attributes:
        precision: the inference precision the compiled model reports (`fp32`, `bf16`, …).
        threads: the inference threads it was compiled for.
    """

    request: Any
    precision: str
    threads: int

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Run one batch; returns (a copy of) the first output. The input is passed without a copy."""
        out = self.request.infer({0: np.ascontiguousarray(x, dtype=np.float32)}, share_inputs=True)
        return np.array(out[0])


def _precision_name(value: Any) -> str:
    text = str(getattr(value, "name", value)).lower().removeprefix("<type: '").rstrip("'>")
    names = {"f32": "fp32", "float32": "fp32", "bf16": "bf16", "bfloat16": "bf16", "f16": "fp16"}
    return names.get(text, text)


def compile_onnx(
    path: str | Path, input_shape: tuple[int, ...], *, threads: int = 1, precision: str = "fp32"
) -> OpenVINOModel:
    """Compile an ONNX file with OpenVINO for the CPU, for one static input shape (batch included).

    Args:
        path: the `.onnx` file (e.g. `convwise.export.onnx_io.export_onnx`'s, with a dynamic batch axis).
        input_shape: the full input shape, e.g. (1, 3, 224, 224).
        threads: inference threads (`INFERENCE_NUM_THREADS`); one stream, latency mode, threads not pinned.
        precision: `fp32` or `bf16` (`INFERENCE_PRECISION_HINT`; bf16 only where the CPU has it).

    Returns:
        An `OpenVINOModel`.

    Raises:
        ConfigError: an unknown precision.
        MissingDependencyError: OpenVINO is not installed (extra `openvino`).

    Example:
        `compile_onnx("model.onnx", (1, 3, 224, 224))(x)` runs `x` in fp32. Arguments are checked before
        OpenVINO is imported:

        >>> compile_onnx("model.onnx", (1, 3, 224, 224), precision="int4")
        Traceback (most recent call last):
        ...
        convwise.core.errors.ConfigError: `precision` must be one of fp32, bf16. Received: precision='int4'.
    """
    if precision not in PRECISIONS:
        raise config_error(f"`precision` must be one of {', '.join(PRECISIONS)}.", precision=precision)
    ov = require()
    core = ov.Core()
    model = core.read_model(str(path))
    model.reshape({model.inputs[0].get_any_name(): list(input_shape)})
    config = {
        "INFERENCE_PRECISION_HINT": PRECISIONS[precision],
        "INFERENCE_NUM_THREADS": int(threads),
        "NUM_STREAMS": 1,
        "PERFORMANCE_HINT": "LATENCY",
        # Pinning to a core that other processes also use made batch 1 about 40 % slower on a shared machine.
        "ENABLE_CPU_PINNING": False,
    }
    compiled = core.compile_model(model, "CPU", config)
    used = _precision_name(compiled.get_property("INFERENCE_PRECISION_HINT"))
    n = int(compiled.get_property("INFERENCE_NUM_THREADS"))
    return OpenVINOModel(compiled.create_infer_request(), used, n)
