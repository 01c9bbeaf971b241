"""What each ONNX op costs: the aten op it computes (the profiler's formula table) or `convwise.core`.

One table, ONNX op type → aten op, for element-wise ops, normalisation, pooling, reductions and data
movement; `Conv` (2-D) through `convwise.core.stage_cost`; `ConvTranspose`, 1-D/3-D `Conv`, `Gemm` and
`MatMul` through the profiler's convolution and matrix-product formulas. An op type not listed has no
formula: the layer lists it as uncounted.
"""

from __future__ import annotations

import math
from typing import Any

from convwise.core import ConfigError
from convwise.formats.record import LayerRecord, conv2d_cost, formula_cost, meta_tensor
from convwise.layers.classify import classify_stage

#: ONNX op → aten op whose formula costs it (per output element, per input element, or movement).
ATEN: dict[str, str] = {
    # activations and element-wise arithmetic: 1 other op per output element
    "Relu": "aten.relu", "LeakyRelu": "aten.leaky_relu", "Sigmoid": "aten.sigmoid", "Tanh": "aten.tanh",
    "Selu": "aten.elu", "Elu": "aten.elu", "Celu": "aten.celu", "HardSigmoid": "aten.hardsigmoid",
    "HardSwish": "aten.hardswish", "Softplus": "aten.softplus", "Clip": "aten.clamp",
    "PRelu": "aten._prelu_kernel", "Gelu": "aten.gelu", "Mish": "aten.mish", "Erf": "aten.erf",
    "Exp": "aten.exp", "Log": "aten.log", "Sqrt": "aten.sqrt", "Reciprocal": "aten.reciprocal",
    "Neg": "aten.neg", "Abs": "aten.abs", "Pow": "aten.pow", "Add": "aten.add", "Sub": "aten.sub",
    "Mul": "aten.mul", "Div": "aten.div", "Max": "aten.maximum", "Min": "aten.minimum", "Sum": "aten.add",
    "Softmax": "aten._softmax", "LogSoftmax": "aten._log_softmax", "Where": "aten.where",
    "Equal": "aten.eq", "Less": "aten.lt", "LessOrEqual": "aten.le", "Greater": "aten.gt",
    "GreaterOrEqual": "aten.ge", "Not": "aten.logical_not", "Sign": "aten.sign", "Floor": "aten.floor",
    "Ceil": "aten.ceil", "Round": "aten.round", "Sin": "aten.sin", "Cos": "aten.cos",
    # normalisation: 2 other ops per element
    "BatchNormalization": "aten._native_batch_norm_legit_no_training",
    "InstanceNormalization": "aten.native_group_norm", "GroupNormalization": "aten.native_group_norm",
    "LayerNormalization": "aten.native_layer_norm",
    # reductions
    "ReduceMean": "aten.mean", "ReduceSum": "aten.sum", "ReduceMax": "aten.amax", "ReduceMin": "aten.amin",
    "ReduceProd": "aten.prod", "ReduceLogSumExp": "aten.logsumexp", "ArgMax": "aten.argmax",
    "ArgMin": "aten.argmin",
    # data movement: 0 by definition
    "Reshape": "aten.view", "Flatten": "aten.flatten", "Transpose": "aten.permute",
    "Squeeze": "aten.squeeze", "Unsqueeze": "aten.unsqueeze", "Concat": "aten.cat", "Split": "aten.split",
    "Slice": "aten.slice", "Gather": "aten.index_select", "Pad": "aten.constant_pad_nd",
    "Identity": "aten.alias", "Dropout": "aten.alias", "Cast": "aten._to_copy", "Expand": "aten.expand",
    "Tile": "aten.repeat", "DepthToSpace": "aten.pixel_shuffle", "SpaceToDepth": "aten.pixel_unshuffle",
    "Shape": "aten.alias", "Size": "aten.alias", "ConstantOfShape": "aten.full", "Range": "aten.arange",
}  # fmt: skip
#: Ops whose constant operands with more than one element are parameters (a bias or a scale).
ELEMENTWISE_WEIGHTS = frozenset({"Add", "Sub", "Mul", "Div"})
#: Input slots holding parameters, and those holding BatchNorm statistics (buffers), per op.
_WEIGHT_SLOTS: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {
    "Conv": ((1, 2), ()),
    "ConvTranspose": ((1, 2), ()),
    "Gemm": ((0, 1, 2), ()),
    "MatMul": ((0, 1), ()),
    "BatchNormalization": ((1, 2), (3, 4)),
    "InstanceNormalization": ((1, 2), ()),
    "LayerNormalization": ((1, 2), ()),
    "GroupNormalization": ((1, 2), ()),
    "PRelu": ((1,), ()),
    "ConvInteger": ((1,), ()),  # zero points (slots 2, 3) are quantization metadata, not parameters
    "MatMulInteger": ((0, 1), ()),
}
_WINDOW_OPS = ("Conv", "MaxPool", "AveragePool")
_UNKNOWN_FIELD = ("ConvTranspose", "Resize", "Upsample", "DepthToSpace")


def weight_slots(op: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(parameter slots, BatchNorm-statistics slots) of an ONNX op's inputs.

    >>> weight_slots("BatchNormalization"), weight_slots("Relu")
    (((1, 2), (3, 4)), ((), ()))
    """
    return _WEIGHT_SLOTS.get(op, ((), ()))


def _pair(values: Any, default: int = 1) -> tuple[int, int]:
    v = [int(x) for x in (values or (default, default))]
    return (v[0], v[1]) if len(v) >= 2 else (v[0], v[0])


def cost(layer: LayerRecord, op: str, attrs: dict[str, Any], names: list[str], graph: Any) -> None:
    """Fill `layer`'s costs (and variant, receptive-field rule) for one default-domain ONNX node.

    `names` are the node's input tensor names ('' for an omitted optional input); `graph` knows every
    tensor's shape (`graph.shapes`) and constant values (`graph.value`).
    """
    shapes = [graph.shapes.get(t) if t else None for t in names]
    x = shapes[0] if shapes else None
    out = layer.output_shape
    if x is not None and len(x) == 4:
        layer.spatial = (x[2], x[3])
    if op in _UNKNOWN_FIELD:
        layer.field_rule = "unknown"
    missing = any(t and graph.shapes.get(t) is None for t in names)
    if missing or out is None or (names and x is None):
        layer.add(f"{op} (shape unknown)", None)
        return
    try:
        if op in ("Conv", "ConvInteger"):  # ConvInteger: the same conv on int8 tensors (no bias input)
            _conv(layer, attrs, shapes[:2] if op == "ConvInteger" else shapes, out, op)
        elif op == "ConvTranspose":
            _conv_transpose(layer, attrs, shapes, out)
        elif op in ("Gemm", "MatMul", "MatMulInteger"):
            _matmul(layer, op, attrs, shapes[:2] if op == "MatMulInteger" else shapes, out)
        elif op in ("MaxPool", "AveragePool"):
            dims = len(x) - 2  # type: ignore[arg-type]
            aten = f"aten.{'max' if op == 'MaxPool' else 'avg'}_pool{dims}d"
            kernel = [int(k) for k in attrs["kernel_shape"]]
            layer.add(f"{op} → {aten}", formula_cost(aten, (meta_tensor(x), kernel), meta_tensor(out)))  # type: ignore[arg-type]
            if dims == 2:
                layer.field_rule = "window"
                layer.window = (_pair(kernel), _pair(attrs.get("strides")), _pair(attrs.get("dilations")))
        elif op in ("GlobalAveragePool", "GlobalMaxPool"):
            dims = len(x) - 2  # type: ignore[arg-type]
            aten = f"aten.adaptive_{'avg' if op == 'GlobalAveragePool' else 'max'}_pool{dims}d"
            layer.add(f"{op} → {aten}", formula_cost(aten, (meta_tensor(x),), meta_tensor(out)))  # type: ignore[arg-type]
            layer.field_rule = "global"
        elif op in ("Resize", "Upsample"):
            _resize(layer, op, attrs, x, out)  # type: ignore[arg-type]
        elif op in ATEN:
            aten = ATEN[op]
            args = tuple(meta_tensor(s) if s is not None else None for s in shapes)
            layer.add(f"{op} → {aten}", formula_cost(aten, args, meta_tensor(out)))
            _field_rule(layer, op, attrs, names, graph)
            if op == "BatchNormalization":
                layer.kind = "batch_norm"
        else:
            layer.add(op, None)
    except (ConfigError, KeyError, IndexError, ValueError, TypeError) as exc:
        layer.add(f"{op} (formula failed: {type(exc).__name__})", None)


def _field_rule(layer: LayerRecord, op: str, attrs: dict[str, Any], names: list[str], graph: Any) -> None:
    x, out = graph.shapes.get(names[0]), layer.output_shape or []
    if op in ("Reshape", "Flatten") and len(x) == 4 and len(out) <= 2:
        layer.field_rule = "flatten"
    elif op.startswith("Reduce") and len(x) == 4:
        axes = attrs.get("axes")
        if axes is None and len(names) > 1 and names[1]:
            axes = graph.value(names[1])  # opset 18: axes are an input
        reduced = {int(a) % 4 for a in axes} if axes else {0, 1, 2, 3}
        if {2, 3} <= reduced:
            layer.field_rule = "global"


def _conv(
    layer: LayerRecord, attrs: dict[str, Any], shapes: list[Any], out: list[int], op: str = "Conv"
) -> None:
    from convwise.formats.onnx_file import conv2d_spec

    x, w = shapes[0], shapes[1]
    has_bias = len(shapes) > 2 and shapes[2] is not None
    if len(x) == 4:
        spec = classify_stage(conv2d_spec(attrs, x, w, has_bias))
        stage = spec.stages[0]
        if list(stage.output_size((x[2], x[3]))) != out[2:]:
            layer.add(
                f"Conv (output {out} disagrees with convwise.core's {stage.output_size((x[2], x[3]))})", None
            )
            return
        layer.spec, layer.kind, layer.description = spec, spec.kind, spec.describe()
        layer.add(f"{op} → convwise.core.stage_cost", conv2d_cost(stage, x))
        layer.field_rule = "window"
        layer.window = (stage.kernel_size, stage.stride, stage.dilation)
        return
    dims = len(x) - 2
    args = (
        meta_tensor(x),
        meta_tensor(w),
        meta_tensor([w[0]]) if has_bias else None,
        [int(v) for v in attrs.get("strides", [1] * dims)],
        [int(v) for v in attrs.get("pads", [0] * 2 * dims)[:dims]],
        [int(v) for v in attrs.get("dilations", [1] * dims)],
        False,
        [0] * dims,
        int(attrs.get("group", 1)),
    )
    layer.kind = f"conv{dims}d"
    layer.add(f"{op} → aten.convolution", formula_cost("aten.convolution", args, meta_tensor(out)))


def _conv_transpose(layer: LayerRecord, attrs: dict[str, Any], shapes: list[Any], out: list[int]) -> None:
    x, w = shapes[0], shapes[1]
    dims = len(x) - 2
    k = [int(v) for v in attrs.get("kernel_shape", w[2:])]
    s = [int(v) for v in attrs.get("strides", [1] * dims)]
    d = [int(v) for v in attrs.get("dilations", [1] * dims)]
    op_pad = [int(v) for v in attrs.get("output_padding", [0] * dims)]
    auto = attrs.get("auto_pad", "NOTSET")
    if auto == "NOTSET" and "output_shape" not in attrs:
        begin = [int(v) for v in attrs.get("pads", [0] * 2 * dims)[:dims]]
    else:  # pads follow from the output size: total = s·(in − 1) + output_padding + d·(k − 1) + 1 − out
        begin = []
        for i in range(dims):
            total = s[i] * (x[2 + i] - 1) + op_pad[i] + d[i] * (k[i] - 1) + 1 - out[2 + i]
            begin.append(total - total // 2 if auto == "SAME_LOWER" else total // 2)
    has_bias = len(shapes) > 2 and shapes[2] is not None
    bias = meta_tensor([out[1]]) if has_bias else None
    groups = int(attrs.get("group", 1))
    args = (meta_tensor(x), meta_tensor(w), bias, s, begin, d, True, op_pad, groups)
    layer.kind = "transposed_conv"
    layer.add("ConvTranspose → aten.convolution", formula_cost("aten.convolution", args, meta_tensor(out)))


def _matmul(layer: LayerRecord, op: str, attrs: dict[str, Any], shapes: list[Any], out: list[int]) -> None:
    a, b = shapes[0], shapes[1]
    if op == "Gemm":
        a = a[::-1] if attrs.get("transA") else a
        b = b[::-1] if attrs.get("transB") else b
        bias = len(shapes) > 2 and shapes[2] is not None
        aten = "aten.addmm" if bias else "aten.mm"
        args = (
            (meta_tensor([1]), meta_tensor(a), meta_tensor(b)) if bias else (meta_tensor(a), meta_tensor(b))
        )
        layer.kind = "linear"
        layer.add(f"Gemm → {aten}", formula_cost(aten, args, meta_tensor(out)))
        for name, factor_key in (("alpha", "alpha"), ("beta", "beta")):
            if float(attrs.get(factor_key, 1.0)) != 1.0 and (name == "alpha" or bias):
                layer.add(f"Gemm {name} scaling → aten.mul", formula_cost("aten.mul", (), meta_tensor(out)))
        return
    a2 = [1, *a] if len(a) == 1 else a
    b2 = [*b, 1] if len(b) == 1 else b
    n, k, m = a2[-2], a2[-1], b2[-1]
    batch = math.prod(out[:-2]) if len(a) > 2 or len(b) > 2 else 1
    layer.kind = "linear"
    layer.add(
        f"{op} → aten.bmm",
        formula_cost("aten.bmm", (meta_tensor([batch, n, k]), meta_tensor([batch, k, m])), meta_tensor(out)),
    )


def _resize(layer: LayerRecord, op: str, attrs: dict[str, Any], x: list[int], out: list[int]) -> None:
    mode = str(attrs.get("mode", "nearest"))
    resized = sum(1 for a, b in zip(x[2:], out[2:], strict=False) if a != b) or max(len(x) - 2, 1)
    if mode == "nearest":
        aten = f"aten.upsample_nearest{min(max(len(x) - 2, 1), 3)}d"
    elif mode == "linear":
        aten = {1: "aten.upsample_linear1d", 2: "aten.upsample_bilinear2d"}.get(
            resized, "aten.upsample_trilinear3d"
        )
    elif mode == "cubic" and resized <= 2:
        aten = "aten.upsample_bicubic2d"
    else:
        layer.add(f"{op} ({mode})", None)
        return
    layer.add(f"{op} ({mode}) → {aten}", formula_cost(aten, (meta_tensor(x),), meta_tensor(out)))
