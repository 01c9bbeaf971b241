"""Read a `.tflite` file into layer records with the light flatbuffer schema (`tflite`, no TensorFlow).

One record per operator of the main subgraph, in execution order. Shapes are the ones the file stores
(channels-last, shown as N, C, H, W); a batch axis the file marks dynamic (`shape_signature` −1) takes
`batch`. Weights are counted at the width they are stored in (a dynamic-range int8 file: 1 byte per
weight). Costs: `convwise.formats.tflite_ops`. Needs `tflite` (extra `tflite-reader`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from convwise.core import config_error, missing_extra
from convwise.formats import tflite_ops
from convwise.formats.record import LayerRecord, ModelRecord, numel, to_nchw

#: TFLite TensorType → bytes per element (INT4: half a byte, rounded up per tensor).
_WIDTH = {0: 4, 1: 2, 2: 4, 3: 1, 4: 8, 6: 1, 7: 2, 9: 1, 10: 8, 11: 16, 12: 8, 13: 4, 15: 2, 16: 2}
_NAMES = {0: "float32", 1: "float16", 2: "int32", 3: "uint8", 4: "int64", 6: "bool", 7: "int16", 9: "int8",
          10: "float64", 17: "int4"}  # fmt: skip


def _tflite() -> Any:
    try:
        import tflite
    except ImportError:
        raise missing_extra("tflite", "tflite-reader", "Reading a TFLite file") from None
    return tflite


class _Graph:
    """Tensors of the main subgraph: shapes (batch filled in), types, constant buffers."""

    def __init__(self, model: Any, sub: Any, batch: int) -> None:
        self.model, self.sub = model, sub
        self.shapes: dict[int, list[int]] = {}
        self.types: dict[int, int] = {}
        self.data: dict[int, int] = {}  # constant tensor → bytes stored
        self.names: dict[int, str] = {}
        self.file_batch: int | None = None
        for i in range(sub.TensorsLength()):
            t = sub.Tensors(i)
            shape = [int(v) for v in t.ShapeAsNumpy()] if t.ShapeLength() else []
            signature = [int(v) for v in t.ShapeSignatureAsNumpy()] if t.ShapeSignatureLength() else []
            if shape and signature and signature[0] == -1:
                self.file_batch = shape[0]
                shape[0] = batch
            self.shapes[i] = shape
            self.types[i] = t.Type()
            self.names[i] = (t.Name() or b"").decode(errors="replace")
            buf = model.Buffers(t.Buffer()) if t.Buffer() < model.BuffersLength() else None
            if buf is not None:
                size = buf.DataLength() or (buf.Size() if buf.Offset() > 1 else 0)
                if size:
                    self.data[i] = int(size)

    def itemsize(self, t: int) -> float:
        """Bytes per element of tensor `t` (INT4: 0.5)."""
        return 0.5 if self.types.get(t) == 17 else _WIDTH.get(self.types.get(t, 0), 4)

    def bytes(self, tensors: list[int]) -> int:
        """Bytes of the (activation) tensors, at their element width."""
        return sum(int(-(-numel(self.shapes.get(t)) * self.itemsize(t) // 1)) for t in tensors)


def _row_name(graph: _Graph, op: Any, index: int, code: str) -> str:
    """The Keras layer scope of the op's output tensor ('model/conv2d/BiasAdd;…' → 'model/conv2d')."""
    outs = [int(t) for t in op.OutputsAsNumpy()] if op.OutputsLength() else []
    name = graph.names.get(outs[0], "") if outs else ""
    part = name.split(";")[-1]
    if "/" in part:
        part = part.rsplit("/", 1)[0]
    return part or f"{code}_{index}"


def read_tflite(
    path: str | Path, *, input_shapes: list[tuple[int, ...]] | None = None, batch: int = 1
) -> ModelRecord:
    """Read a `.tflite` file into a `ModelRecord`.

    Args:
        path: the file.
        input_shapes: per model input, C×H×W for images (or the axes after the batch); must equal what
            the file stores (TFLite files have fixed shapes).
        batch: N; a file with a fixed batch axis must agree.

    Raises:
        ConfigError: not a TFLite flatbuffer, no subgraph, a batch or input shape the file does not have.
        MissingDependencyError: `tflite` is not installed (extra `tflite-reader`).
    """
    tflite = _tflite()
    path = Path(path)
    if not path.is_file():
        raise config_error("The model file does not exist.", path=str(path))
    buf = path.read_bytes()
    if len(buf) < 8 or buf[4:8] != b"TFL3":
        raise config_error(
            "The file is not a valid TFLite model (no 'TFL3' flatbuffer identifier).", path=str(path)
        )
    try:
        model = tflite.Model.GetRootAs(buf, 0)
        if model.SubgraphsLength() < 1:
            raise ValueError("no subgraph")
        sub = model.Subgraphs(0)
        graph = _Graph(model, sub, batch)
    except Exception as exc:
        raise config_error(
            f"The file is not a valid TFLite model ({type(exc).__name__}: {exc}).", path=str(path)
        ) from None
    inputs = [int(t) for t in sub.InputsAsNumpy()] if sub.InputsLength() else []
    _check_inputs(graph, inputs, path, input_shapes, batch)
    layers: list[LayerRecord] = []
    owners: dict[int, str] = {}
    names: set[str] = set()
    int8_weights = 0
    for i in range(sub.OperatorsLength()):
        op = sub.Operators(i)
        opcode = model.OperatorCodes(op.OpcodeIndex())
        code_id = max(opcode.BuiltinCode(), opcode.DeprecatedBuiltinCode())
        code = tflite.opcode2name(code_id) if code_id != 32 else (opcode.CustomCode() or b"CUSTOM").decode()
        name, k = _row_name(graph, op, i, code), 1
        base = name
        while name in names:
            k += 1
            name = f"{base}#{k}"
        names.add(name)
        layer, n8 = _layer(tflite, graph, op, code, name, owners)
        int8_weights += n8
        layers.append(layer)
    in_type = graph.types.get(inputs[0], 0) if inputs else 0
    notes = []
    if int8_weights:
        notes.append(
            f"Dynamic-range int8: {int8_weights} weight tensor(s) stored as int8 (weight bytes at 1 byte per "
            "element), activations " + _NAMES.get(in_type, "float32") + "."
        )
    conventions = [
        "Convention: TensorFlow's converter folds BatchNorm into the convs and gives every conv a bias "
        "tensor (no BatchNorm rows; bias additions instead), and may split an activation it has no kernel "
        "for into element-wise ops (e.g. SELU → 6 ops per element)."
    ]
    return ModelRecord(
        name=path.name,
        format="tflite",
        layers=layers,
        input_shapes=[to_nchw(graph.shapes[t]) or graph.shapes[t] for t in inputs],
        input_names=[str(t) for t in inputs],
        batch=batch,
        dtype=_NAMES.get(in_type, "float32"),
        source=f"TFLite schema {model.Version()} ({(model.Description() or b'').decode(errors='replace')})"
        ", shapes as stored in the file",
        conventions=conventions,
        notes=notes,
    )


def _check_inputs(
    graph: _Graph, inputs: list[int], path: Path, input_shapes: list[tuple[int, ...]] | None, batch: int
) -> None:
    for t in inputs:
        shape = graph.shapes[t]
        if graph.file_batch is None and shape and shape[0] != batch:
            raise config_error(
                f"The file fixes the batch at {shape[0]}; `--batch` cannot change it.",
                path=str(path),
                batch=batch,
            )
    if input_shapes is None:
        return
    stored = [(to_nchw(graph.shapes[t]) or graph.shapes[t])[1:] for t in inputs]
    if [list(s) for s in input_shapes] != stored:
        raise config_error(
            "A TFLite file stores fixed input shapes; `--input` must match them (or be left out).",
            path=str(path),
            input=[list(s) for s in input_shapes],
            stored=stored,
        )


def _layer(
    tflite: Any, graph: _Graph, op: Any, code: str, name: str, owners: dict[int, str]
) -> tuple[LayerRecord, int]:
    ins = [int(t) for t in op.InputsAsNumpy()] if op.InputsLength() else []
    outs = [int(t) for t in op.OutputsAsNumpy()] if op.OutputsLength() else []
    acts = [t for t in ins if t >= 0 and t not in graph.data]
    layer = LayerRecord(
        name,
        code,
        input_shape=to_nchw(graph.shapes.get(acts[0])) if acts else None,
        output_shape=to_nchw(graph.shapes.get(outs[0])) if outs else None,
        inputs=[str(t) for t in acts],
        outputs=[str(t) for t in outs],
        input_bytes=graph.bytes(acts),
        output_bytes=graph.bytes(outs),
    )
    int8 = 0
    slots = tflite_ops.weight_slots(code)
    for slot, t in enumerate(ins):
        if t < 0 or t not in graph.data:
            continue
        n = numel(graph.shapes.get(t))
        if not (slot in slots or (code in tflite_ops.ELEMENTWISE_WEIGHTS and n > 1)):
            continue
        if t in owners:
            layer.shared_params += n
            continue
        owners[t] = name
        layer.add_weights(n, graph.data[t])
        int8 += graph.types.get(t) in (9, 17)
    tflite_ops.cost(tflite, layer, code, op, [graph.shapes.get(t) if t >= 0 else None for t in ins],
                    graph.shapes.get(outs[0]) if outs else None, ins, graph)  # fmt: skip
    return layer, int(int8)
