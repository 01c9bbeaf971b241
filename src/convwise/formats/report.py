"""A `ModelRecord` as the profiler's `Report`: the same rows, JSON schema, table, CSV and Markdown.

Each layer becomes one `convwise.profile.Node` under the root; the receptive field and jump of every
layer's output follow SPEC §2's recurrence along the file's graph (docs/summary.md).
"""

from __future__ import annotations

from convwise.formats.record import LayerRecord, ModelRecord
from convwise.profile import Node, Report
from convwise.profile.receptive import INPUT_FIELD, Field, _spread, _window

#: Ops whose every output is a part of the input (each carries the input's field).
_SPLITS = frozenset({"Split", "SPLIT", "SPLIT_V", "UNPACK"})


def _combine(fields: list[Field]) -> Field:
    """Element-wise ops and concatenation: the largest field and jump of the inputs."""
    if any(f.size is None for f in fields):
        return next(f for f in fields if f.size is None)
    size = (max(f.size[0] for f in fields if f.size), max(f.size[1] for f in fields if f.size))
    jumps = [f.jump for f in fields if f.jump is not None]
    notes = [f.note for f in fields if f.note]
    jump = (max(j[0] for j in jumps), max(j[1] for j in jumps)) if jumps else None
    if len(set(jumps)) > 1:
        notes.append("inputs with different jumps: the largest is shown")
    note = "; ".join(dict.fromkeys(notes)) or None
    axes = fields[0].axes if jump is not None else None
    return Field(size, jump, axes, any(f.whole for f in fields), note)


def _field(layer: LayerRecord, inputs: list[Field]) -> Field | None:
    if not inputs:
        return None
    first = inputs[0]
    rule = layer.field_rule
    if rule == "window" and layer.window is not None:
        return _window(first, *layer.window)
    if rule == "unknown":
        why = f"{layer.type} (upsampling or transposed convolution): the jump is not a whole number of pixels"
        return Field(None, None, None, first.whole, why)
    if rule in ("global", "flatten"):
        if first.size is None or first.jump is None:
            return Field(first.size, None, None, first.whole or rule == "global", first.note)
        if layer.spatial is None:
            return Field(first.size, None, None, True, first.note)
        return _spread(first, layer.spatial, (True, True), keep_layout=False)
    return _combine(inputs)


def assign_fields(record: ModelRecord) -> None:
    """Receptive field of every tensor along the graph, from r = 1, j = 1 at each 4-D (image) input."""
    fields: dict[str, Field] = {
        name: INPUT_FIELD
        for name, shape in zip(record.input_names, record.input_shapes, strict=True)
        if len(shape) == 4
    }
    for layer in record.layers:
        known = [fields[t] for t in layer.inputs if t in fields]
        layer_field = _field(layer, known)
        layer.rf_in = known[0] if known else None
        layer.rf = layer_field
        if layer_field is not None:  # the first output (others are side outputs: scales, indices …)
            for t in layer.outputs if layer.type in _SPLITS else layer.outputs[:1]:
                fields[t] = layer_field


def to_report(record: ModelRecord) -> Report:
    """The `Report` of a model file (rows = its layers, in execution order).

    >>> from convwise.formats.record import LayerRecord, ModelRecord
    >>> layer = LayerRecord("relu", "Relu", input_shape=[1, 4], output_shape=[1, 4], other_ops=4)
    >>> report = to_report(ModelRecord("m.onnx", "onnx", [layer], [[1, 4]], ["x"], 1, "float32", "ONNX"))
    >>> report.totals["other_ops"], report.rows()[0]["name"], report.status
    (4, 'relu', 'complete')
    """
    assign_fields(record)
    root = Node("", record.format, None, 0)
    nodes = {"": root}
    for layer in record.layers:
        node = Node(layer.name, layer.type, layer.kind, 1, description=layer.description, calls=1)
        for key in (
            "input_shape",
            "output_shape",
            "params",
            "trainable_params",
            "frozen_params",
            "shared_params",
            "buffers",
            "bn_statistics",
            "weight_bytes",
            "input_bytes",
            "output_bytes",
            "mults",
            "acc_adds",
            "bias_adds",
            "mults_excluding_padding",
            "other_ops",
            "spec",
            "rf",
            "rf_in",
        ):
            setattr(node, key, getattr(layer, key))
        node.ops = {k: list(v) for k, v in layer.ops.items()}
        node.uncounted = dict(layer.uncounted)
        node.unit = True
        node.traffic_in, node.traffic_out = layer.input_bytes, layer.output_bytes
        nodes[layer.name] = node
        root.children.append(layer.name)
    # the model's output: the field of the last layer's output (the graph's output in execution order)
    root.rf = next((layer.rf for layer in reversed(record.layers) if layer.rf is not None), None)
    notes = [f"Read from the file: {record.source}.", *record.conventions, *record.notes]
    return Report(
        record.name,
        nodes,
        record.input_shapes,
        record.batch,
        record.dtype,
        "file",
        None,
        True,
        record.keras_view,
        sum(layer.weight_bytes for layer in record.layers),
        False,
        notes,
    )
