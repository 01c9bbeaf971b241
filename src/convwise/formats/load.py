"""Which reader a model file needs (by its suffix), and the one call that turns a file into a `Report`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from convwise.core import config_error
from convwise.formats.record import ModelRecord
from convwise.profile import Report

#: Model-file suffix → format name.
MODEL_FILE_SUFFIXES: dict[str, str] = {".onnx": "onnx", ".keras": "keras", ".tflite": "tflite"}


def is_model_file(target: Any) -> bool:
    """True when `target` names a model file by its suffix (.onnx, .keras, .tflite).

    >>> is_model_file("net.onnx"), is_model_file("models/Seed.KERAS"), is_model_file("mobilenet_v1")
    (True, True, False)
    """
    return isinstance(target, (str, Path)) and Path(target).suffix.lower() in MODEL_FILE_SUFFIXES


def read_model_file(
    path: str | Path, *, input_shapes: list[tuple[int, ...]] | None = None, batch: int = 1
) -> ModelRecord:
    """Read a model file into layer records with the reader its suffix names.

    Args:
        path: an `.onnx`, `.keras` or `.tflite` file.
        input_shapes: per model input, the shape after the batch axis in the file's own layout (fills
            symbolic axes); None: the file's own shapes.
        batch: N (a file that fixes its batch axis must agree).

    Raises:
        ConfigError: unknown suffix, a file that is not a valid model of its suffix, unsupported opset,
            a Keras file that needs custom objects, contradicting shapes — always one line naming the file.
        MissingDependencyError: the reader's optional package is missing (the message names the extra).
    """
    fmt = MODEL_FILE_SUFFIXES.get(Path(path).suffix.lower())
    if fmt is None:
        raise config_error(f"A model file must end in {', '.join(MODEL_FILE_SUFFIXES)}.", path=str(path))
    if not Path(path).is_file():
        raise config_error("The model file does not exist.", path=str(path))
    if fmt == "onnx":
        from convwise.formats.onnx_file import read_onnx

        return read_onnx(path, input_shapes=input_shapes, batch=batch)
    if fmt == "keras":
        from convwise.formats.keras_file import read_keras

        return read_keras(path, input_shapes=input_shapes, batch=batch)
    from convwise.formats.tflite_file import read_tflite

    return read_tflite(path, input_shapes=input_shapes, batch=batch)


def summarize_file(
    path: str | Path,
    *,
    input_shapes: list[tuple[int, ...]] | None = None,
    batch: int = 1,
    keras: bool | None = None,
) -> Report:
    """The `Report` of a model file: the same rows, totals, JSON, table, CSV and Markdown as `profile()`.

    Args:
        path, input_shapes, batch: as `read_model_file`.
        keras: the Keras view (BatchNorm moving statistics as non-trainable parameters); None: on for
            `.keras` files (so totals equal Keras' `count_params()`), off otherwise.

    >>> import tempfile, onnx
    >>> from onnx import TensorProto, helper
    >>> x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 8])
    >>> y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    >>> w = helper.make_tensor("w", TensorProto.FLOAT, [8, 3], [0.0] * 24)
    >>> graph = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "g", [x], [y], [w])
    >>> f = tempfile.NamedTemporaryFile(suffix=".onnx", delete=False)
    >>> onnx.save(helper.make_model(graph), f.name)
    >>> report = summarize_file(f.name, batch=4)
    >>> report.totals["params"], report.totals["macs"], report.totals["flops"]
    (24, 96, 180)
    """
    from convwise.formats.report import to_report

    record = read_model_file(path, input_shapes=input_shapes, batch=batch)
    if keras is not None:
        record.keras_view = keras
    return to_report(record)
