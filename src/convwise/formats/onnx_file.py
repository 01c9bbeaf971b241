"""Read an ONNX file into layer records: shapes from `onnx.shape_inference`, costs through `convwise.core`.

One record per graph node, in the file's (topological) order. Symbolic axes are made concrete first (the
batch axis from `batch`, others from `input_shapes`), then ONNX's own shape inference gives every tensor
its shape. 2-D `Conv` (with `group`, `dilations`, `pads`, `auto_pad` SAME_UPPER / SAME_LOWER / VALID) is a
`convwise.core.Conv2dSpec` costed by `stage_cost`; every other op by the profiler's formula for the aten op
it computes (`convwise.formats.onnx_ops`). Nodes without a formula are listed as uncounted (status
partial). Needs the `onnx` package (extra `export`).
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

from convwise.core import SAME, VALID, Conv2dSpec, config_error, missing_extra, parse_padding, same_amounts
from convwise.formats import onnx_ops
from convwise.formats.record import LayerRecord, ModelRecord, numel

#: Data-movement ops that, on constant inputs, give a constant (folded when the model is loaded).
_CONSTANT_MOVES = frozenset({"Reshape", "Unsqueeze", "Squeeze", "Cast", "Transpose", "Identity", "Flatten"})
#: The oldest default-domain opset the reader supports (Resize, Upsample and friends are from 7–13).
MIN_OPSET = 7


def _onnx() -> Any:
    try:
        import onnx
    except ImportError:
        raise missing_extra("onnx", "export", "Reading an ONNX file") from None
    return onnx


def _load(path: Path) -> Any:
    onnx = _onnx()
    if not path.is_file():
        raise config_error("The model file does not exist.", path=str(path))
    try:
        model = onnx.load(str(path))
    except Exception as exc:
        raise config_error(
            f"The file is not a valid ONNX model ({type(exc).__name__}: {_first_line(exc)}).", path=str(path)
        ) from None
    if not model.ir_version or not model.graph.node:
        raise config_error("The file is not a valid ONNX model (no graph in it).", path=str(path))
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None)
    newest = onnx.defs.onnx_opset_version()
    if opset is None or not MIN_OPSET <= opset <= newest:
        raise config_error(
            f"The ONNX file's opset is not supported (convwise reads opsets {MIN_OPSET}–{newest}, as the "
            "installed `onnx` package knows them).",
            path=str(path),
            opset=opset,
        )
    return model  # ONNX's strict shape inference (in read_onnx) rejects graphs whose nodes do not fit


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    return (lines[0] if lines else type(exc).__name__)[:200]


def _dims(value_info: Any) -> list[int | str | None] | None:
    t = value_info.type
    if not t.HasField("tensor_type") or not t.tensor_type.HasField("shape"):
        return None
    out: list[int | str | None] = []
    for d in t.tensor_type.shape.dim:
        if d.HasField("dim_value"):
            out.append(int(d.dim_value))
        elif d.HasField("dim_param"):
            out.append(d.dim_param)
        else:
            out.append(None)
    return out


def _concrete_inputs(
    model: Any, path: Path, input_shapes: list[tuple[int, ...]] | None, batch: int
) -> list[tuple[str, list[int]]]:
    """(name, concrete shape) of every graph input that is not an initializer; writes them into `model`."""
    inits = {i.name for i in model.graph.initializer}
    graph_inputs = [i for i in model.graph.input if i.name not in inits]
    if input_shapes is not None and len(input_shapes) != len(graph_inputs):
        raise config_error(
            f"Give one `--input` per model input (the file has {len(graph_inputs)}: "
            f"{', '.join(i.name for i in graph_inputs)}).",
            path=str(path),
            input=[list(s) for s in input_shapes],
        )
    out = []
    for k, vi in enumerate(graph_inputs):
        dims = _dims(vi)
        if dims is None:
            raise config_error("A model input has no declared shape.", path=str(path), input=vi.name)
        shape: list[int] = []
        for axis, d in enumerate(dims):
            given = None
            if axis == 0:
                given = batch
            elif input_shapes is not None:
                sample = input_shapes[k]
                if len(sample) != len(dims) - 1:
                    raise config_error(
                        f"`--input` must give the {len(dims) - 1} axes after the batch of input `{vi.name}` "
                        f"(the file declares {_dims_text(dims)}).",
                        path=str(path),
                        input=list(sample),
                    )
                given = sample[axis - 1]
            if isinstance(d, int):
                if given is not None and given != d:
                    what = "the batch" if axis == 0 else f"axis {axis}"
                    flag = "--batch" if axis == 0 else "--input"
                    raise config_error(
                        f"The file fixes {what} of input `{vi.name}` at {d} ({_dims_text(dims)}); "
                        f"`{flag}` cannot change it.",
                        path=str(path),
                        **({"batch": given} if axis == 0 else {"input": list(input_shapes[k])}),  # type: ignore[index]
                    )
                shape.append(d)
            elif given is None:
                raise config_error(
                    f"Input `{vi.name}` has symbolic axes ({_dims_text(dims)}): give its shape after the "
                    "batch axis with `--input`.",
                    path=str(path),
                )
            else:
                shape.append(int(given))
        dim_protos = vi.type.tensor_type.shape.dim
        for d, value in zip(dim_protos, shape, strict=True):
            d.Clear()
            d.dim_value = value
        out.append((vi.name, shape))
    return out


def _dims_text(dims: list[int | str | None]) -> str:
    return "[" + ", ".join("?" if d is None else str(d) for d in dims) + "]"


class _Graph:
    """Shapes, element types and constant values of every tensor of an inferred model."""

    def __init__(self, model: Any) -> None:
        from onnx import helper, numpy_helper

        self.shapes: dict[str, list[int] | None] = {}
        self.types: dict[str, int] = {}
        self.constants: dict[str, Any] = {}
        for vi in [*model.graph.input, *model.graph.value_info, *model.graph.output]:
            dims = _dims(vi)
            self.shapes[vi.name] = (
                [int(d) for d in dims] if dims is not None and all(isinstance(d, int) for d in dims) else None
            )
            self.types[vi.name] = vi.type.tensor_type.elem_type
        for init in model.graph.initializer:
            self.constants[init.name] = init
            self.shapes[init.name] = [int(d) for d in init.dims]
            self.types[init.name] = init.data_type
        for node in model.graph.node:
            if node.op_type == "Constant" and node.domain in ("", "ai.onnx"):
                for attr in node.attribute:
                    if attr.name == "value":
                        self.constants[node.output[0]] = attr.t
                        self.shapes[node.output[0]] = [int(d) for d in attr.t.dims]
                        self.types[node.output[0]] = attr.t.data_type
        # data movement of constants only (e.g. a bias reshaped to (1, C, 1, 1)) is a constant too
        for node in model.graph.node:
            inputs = [t for t in node.input if t]
            if node.op_type in _CONSTANT_MOVES and inputs and all(t in self.constants for t in inputs):
                for t in node.output:
                    self.constants.setdefault(t, None)
        self._helper, self._numpy = helper, numpy_helper

    def folded(self, node: Any) -> bool:
        """True for a node computed from constants only (a Constant, a reshaped weight): not a layer."""
        inputs = [t for t in node.input if t]
        return node.op_type == "Constant" or (
            node.op_type in _CONSTANT_MOVES and bool(inputs) and all(t in self.constants for t in inputs)
        )

    def itemsize(self, name: str) -> int:
        """Bytes per element of tensor `name` (4 when unknown)."""
        elem = self.types.get(name)
        if not elem:
            return 4
        return int(self._helper.tensor_dtype_to_np_dtype(elem).itemsize)

    def dtype_name(self, name: str) -> str:
        """numpy name of the tensor's element type ('float32', 'int8', …)."""
        elem = self.types.get(name)
        return str(self._helper.tensor_dtype_to_np_dtype(elem)) if elem else "float32"

    def value(self, name: str) -> list[int] | None:
        """The integer values of a constant input (axes, scales), or None."""
        t = self.constants.get(name)
        if t is None:  # unknown, or derived from other constants
            return None
        return [int(v) for v in self._numpy.to_array(t).reshape(-1).tolist()]

    def bytes(self, names: list[str]) -> int:
        """Bytes of the tensors `names` (unknown shapes count 0)."""
        return sum(numel(self.shapes.get(n)) * self.itemsize(n) for n in names)


def _attrs(node: Any) -> dict[str, Any]:
    from onnx import helper

    out = {}
    for a in node.attribute:
        value = helper.get_attribute_value(a)
        out[a.name] = value.decode() if isinstance(value, bytes) else value
    return out


def _row_name(node: Any, index: int) -> str:
    """The PyTorch module path the exporter recorded (`pkg.torch.onnx.name_scopes`), else the node name.

    A conv into which the exporter folded a BatchNorm carries the BatchNorm's scope: it is named after
    its weight (`conv1.conv.conv.weight` → `conv1.conv.conv`) instead.
    """
    props = {p.key: p.value for p in node.metadata_props}
    if "FuseBatchNormIntoConv" in props.get("pkg.onnxscript.rewriter.rule_name", "") and len(node.input) > 1:
        weight = node.input[1]
        if weight.endswith(".weight"):
            return weight.removesuffix(".weight")
    for prop in node.metadata_props:
        if prop.key == "pkg.torch.onnx.name_scopes":
            try:
                scopes = ast.literal_eval(prop.value)
            except (ValueError, SyntaxError):
                break
            # cumulative module paths from the root ('' … 'a', 'a.b'), then the aten op's name
            path = scopes[-2] if len(scopes) > 2 else ""
            if path:
                return str(path)
    return node.name or f"{node.op_type}_{index}"


def _fused_rules(model: Any) -> set[str]:
    rules: set[str] = set()
    for node in model.graph.node:
        for prop in node.metadata_props:
            if prop.key == "pkg.onnxscript.rewriter.rule_name":
                rules.update(r.strip() for r in prop.value.split(","))
    return rules


def conv2d_spec(attrs: dict[str, Any], x: list[int], w: list[int], has_bias: bool) -> Conv2dSpec:
    """The `Conv2dSpec` of a 2-D ONNX `Conv` on input `x` (N, C, H, W) with weight `w` (Cout, C/g, kh, kw).

    `auto_pad` SAME_UPPER is TensorFlow's `same` (the odd pixel after); SAME_LOWER puts it before; `pads`
    are (top, left, bottom, right) in ONNX's order.

    >>> spec = conv2d_spec({"auto_pad": "SAME_LOWER", "strides": [2, 2]}, [1, 3, 6, 6], [8, 3, 3, 3], True)
    >>> spec.padding.describe(), spec.output_size((6, 6))
    ('1,0,1,0', (3, 3))
    """
    kh, kw = (int(v) for v in attrs.get("kernel_shape", w[2:4]))
    stride = tuple(int(v) for v in attrs.get("strides", (1, 1)))
    dilation = tuple(int(v) for v in attrs.get("dilations", (1, 1)))
    auto = attrs.get("auto_pad", "NOTSET")
    if auto == "SAME_UPPER":
        padding = SAME
    elif auto == "SAME_LOWER":
        top, bottom = same_amounts(x[2], kh, stride[0], dilation[0])
        left, right = same_amounts(x[3], kw, stride[1], dilation[1])
        padding = parse_padding((bottom, top, right, left))
    elif auto == "VALID":
        padding = VALID
    else:
        t, l, b, r = (int(v) for v in attrs.get("pads", (0, 0, 0, 0)))
        padding = parse_padding((t, b, l, r)) if (t or b or l or r) else VALID
    return Conv2dSpec(
        int(x[1]),
        int(w[0]),
        (kh, kw),
        (stride[0], stride[1]),
        padding,
        (dilation[0], dilation[1]),
        int(attrs.get("group", 1)),
        has_bias,
    )


def read_onnx(
    path: str | Path, *, input_shapes: list[tuple[int, ...]] | None = None, batch: int = 1
) -> ModelRecord:
    """Read an `.onnx` file into a `ModelRecord`.

    Args:
        path: the file.
        input_shapes: per model input, its shape after the batch axis (fills symbolic axes; must agree
            with fixed ones). None: the file's own shapes.
        batch: N, for a symbolic batch axis (a fixed one must equal it).

    Raises:
        ConfigError: not a valid ONNX file, unsupported opset, unknown or contradicting input shapes.
        MissingDependencyError: `onnx` is not installed (extra `export`).

    >>> import tempfile, onnx
    >>> from onnx import TensorProto, helper
    >>> x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4, 5, 5])
    >>> y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    >>> w = helper.make_tensor("w", TensorProto.FLOAT, [10, 4, 3, 3], [0.0] * 360)
    >>> b = helper.make_tensor("b", TensorProto.FLOAT, [10], [0.0] * 10)
    >>> node = helper.make_node("Conv", ["x", "w", "b"], ["y"], kernel_shape=[3, 3])
    >>> model = helper.make_model(helper.make_graph([node], "g", [x], [y], [w, b]))
    >>> f = tempfile.NamedTemporaryFile(suffix=".onnx", delete=False); onnx.save(model, f.name)
    >>> record = read_onnx(f.name)
    >>> layer = record.layers[0]
    >>> layer.kind, layer.output_shape, layer.params, layer.mults   # SPEC §4: 4×5×5 → 10, k3
    ('standard', [1, 10, 3, 3], 370, 3240)
    """
    onnx = _onnx()
    path = Path(path)
    model = _load(path)
    inputs = _concrete_inputs(model, path, input_shapes, batch)
    try:
        inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True, data_prop=True)
    except Exception as exc:
        raise config_error(
            f"ONNX shape inference failed on the file ({_first_line(exc)}).",
            path=str(path),
            input_shapes=[s for _, s in inputs],
        ) from None
    graph = _Graph(inferred)
    opset = next(o.version for o in inferred.opset_import if o.domain in ("", "ai.onnx"))
    layers: list[LayerRecord] = []
    owners: dict[str, str] = {}
    names: set[str] = set()
    for index, node in enumerate(inferred.graph.node):
        if node.domain in ("", "ai.onnx") and graph.folded(node):
            continue  # a constant tensor (counted where it is used as a weight)
        name = _row_name(node, index)
        base, k = name, 1
        while name in names:
            k += 1
            name = f"{base}#{k}"
        names.add(name)
        layers.append(_layer(node, name, graph, owners))
    float_in = next((graph.dtype_name(n) for n, _ in inputs if "float" in graph.dtype_name(n)), "float32")
    conventions = []
    rules = _fused_rules(inferred)
    if "FuseBatchNormIntoConv" in rules:
        conventions.append(
            "Convention: the exporter folded BatchNorm into the preceding convs (onnxscript "
            "FuseBatchNormIntoConv): no BatchNorm rows, γ/β/statistics become the conv's weights and bias "
            "(bias additions instead of BatchNorm's 2 other ops per element)."
        )
    if "FuseConvPad" in rules or "FusePadConv" in rules:
        conventions.append(
            "Convention: the exporter merged explicit Pad nodes into the convs' `pads` (same counts)."
        )
    producer = f", written by {inferred.producer_name} {inferred.producer_version}".rstrip()
    return ModelRecord(
        name=path.name,
        format="onnx",
        layers=layers,
        input_shapes=[s for _, s in inputs],
        input_names=[n for n, _ in inputs],
        batch=batch,
        dtype=float_in,
        source=f"ONNX opset {opset}{producer if inferred.producer_name else ''}; shapes from "
        "onnx.shape_inference",
        conventions=conventions,
    )


def _layer(node: Any, name: str, graph: _Graph, owners: dict[str, str]) -> LayerRecord:
    op = node.op_type if node.domain in ("", "ai.onnx") else f"{node.domain}.{node.op_type}"
    inputs = [t for t in node.input if t]
    acts = [t for t in inputs if t not in graph.constants]
    outputs = [t for t in node.output if t]
    first_in = graph.shapes.get(acts[0]) if acts else None
    out_shape = graph.shapes.get(outputs[0]) if outputs else None
    layer = LayerRecord(
        name,
        op,
        input_shape=first_in,
        output_shape=out_shape,
        inputs=acts,
        outputs=outputs,
        input_bytes=graph.bytes(acts),
        output_bytes=graph.bytes(outputs),
    )
    _weights(node, op, layer, graph, owners)
    if node.domain not in ("", "ai.onnx"):
        layer.add(op, None)
        return layer
    onnx_ops.cost(layer, node.op_type, _attrs(node), list(node.input), graph)
    return layer


def _weights(node: Any, op: str, layer: LayerRecord, graph: _Graph, owners: dict[str, str]) -> None:
    """Parameters (and BatchNorm statistics) of a node: the constant inputs in its weight slots."""
    slots, stats = onnx_ops.weight_slots(node.op_type)
    # an element-wise op's constant is a parameter (a bias, a scale) when it acts on a batch of activations,
    # not when it combines scalars (e.g. the quantization scales of an int8 graph)
    on_batch = any(len(graph.shapes.get(t) or []) >= 2 for t in node.input if t and t not in graph.constants)
    for i, t in enumerate(node.input):
        if not t or t not in graph.constants:
            continue
        n = numel(graph.shapes.get(t))
        is_param = i in slots or (node.op_type in onnx_ops.ELEMENTWISE_WEIGHTS and n > 1 and on_batch)
        if not (is_param or i in stats):
            continue
        if t in owners:
            layer.shared_params += n
            continue
        owners[t] = layer.name
        if i in stats:
            layer.buffers += n
            layer.bn_statistics += n
        else:
            layer.add_weights(n, n * graph.itemsize(t))


__all__ = ["MIN_OPSET", "conv2d_spec", "read_onnx"]
