"""What each TFLite builtin operator costs: convs through `convwise.core`, the rest by aten formula.

CONV_2D and DEPTHWISE_CONV_2D become `convwise.core.Conv2dSpec`s (TensorFlow's `same` padding is
core's); TRANSPOSE_CONV, FULLY_CONNECTED and BATCH_MATMUL use the profiler's convolution and matrix
formulas; element-wise, pooling, reductions, resizing and movement the aten op they compute. A fused
activation (`fused_activation_function`) counts like PyTorch's separate activation module. Shapes arrive
channels-last (N, H, W, C).
"""

from __future__ import annotations

import math
from typing import Any

from convwise.core import SAME, VALID, ConfigError, Conv2dSpec
from convwise.formats.record import LayerRecord, conv2d_cost, formula_cost, meta_tensor, to_nchw
from convwise.layers.classify import classify_stage

#: TFLite builtin → aten op (element-wise: 1 per output element; movement: 0).
ATEN: dict[str, str] = {
    "ADD": "aten.add", "SUB": "aten.sub", "MUL": "aten.mul", "DIV": "aten.div", "MAXIMUM": "aten.maximum",
    "MINIMUM": "aten.minimum", "RELU": "aten.relu", "RELU6": "aten.hardtanh", "RELU_N1_TO_1": "aten.hardtanh",
    "RELU_0_TO_1": "aten.hardtanh", "LEAKY_RELU": "aten.leaky_relu", "PRELU": "aten._prelu_kernel",
    "ELU": "aten.elu", "LOGISTIC": "aten.sigmoid", "TANH": "aten.tanh", "HARD_SWISH": "aten.hardswish",
    "GELU": "aten.gelu", "SOFTMAX": "aten._softmax", "LOG_SOFTMAX": "aten._log_softmax", "EXP": "aten.exp",
    "LOG": "aten.log", "SQRT": "aten.sqrt", "RSQRT": "aten.rsqrt", "SQUARE": "aten.square", "NEG": "aten.neg",
    "ABS": "aten.abs", "POW": "aten.pow", "GREATER": "aten.gt", "GREATER_EQUAL": "aten.ge", "LESS": "aten.lt",
    "LESS_EQUAL": "aten.le", "EQUAL": "aten.eq", "NOT_EQUAL": "aten.ne", "SELECT": "aten.where",
    "SELECT_V2": "aten.where", "FLOOR": "aten.floor", "CEIL": "aten.ceil", "ROUND": "aten.round",
    "SIN": "aten.sin", "COS": "aten.cos", "SQUARED_DIFFERENCE": "aten.sub", "ADD_N": "aten.add",
    "MEAN": "aten.mean", "SUM": "aten.sum", "REDUCE_MAX": "aten.amax", "REDUCE_MIN": "aten.amin",
    "REDUCE_PROD": "aten.prod", "ARG_MAX": "aten.argmax", "ARG_MIN": "aten.argmin",
    "RESHAPE": "aten.view", "SQUEEZE": "aten.squeeze", "EXPAND_DIMS": "aten.unsqueeze",
    "TRANSPOSE": "aten.permute", "CONCATENATION": "aten.cat", "PACK": "aten.stack", "UNPACK": "aten.unbind",
    "SPLIT": "aten.split", "SPLIT_V": "aten.split", "SLICE": "aten.slice", "STRIDED_SLICE": "aten.slice",
    "GATHER": "aten.index_select", "PAD": "aten.constant_pad_nd", "PADV2": "aten.constant_pad_nd",
    "MIRROR_PAD": "aten.reflection_pad2d", "SHAPE": "aten.alias", "CAST": "aten._to_copy",
    "QUANTIZE": "aten._to_copy", "DEQUANTIZE": "aten._to_copy", "TILE": "aten.repeat",
    "BROADCAST_TO": "aten.expand", "DEPTH_TO_SPACE": "aten.pixel_shuffle",
    "SPACE_TO_DEPTH": "aten.pixel_unshuffle",
    "FILL": "aten.full", "ZEROS_LIKE": "aten.zeros_like", "RANGE": "aten.arange",
    "RESIZE_NEAREST_NEIGHBOR": "aten.upsample_nearest2d", "RESIZE_BILINEAR": "aten.upsample_bilinear2d",
}  # fmt: skip
#: Ops whose constant operands with more than one element are parameters (a bias or a scale).
ELEMENTWISE_WEIGHTS = frozenset({"ADD", "SUB", "MUL", "DIV"})
_WEIGHT_SLOTS: dict[str, tuple[int, ...]] = {
    "CONV_2D": (1, 2),
    "DEPTHWISE_CONV_2D": (1, 2),
    "FULLY_CONNECTED": (1, 2),
    "TRANSPOSE_CONV": (1, 3),
    "PRELU": (1,),
    "BATCH_MATMUL": (0, 1),
}
#: fused_activation_function → aten op (NONE: nothing).
_FUSED = {1: "aten.relu", 2: "aten.hardtanh", 3: "aten.hardtanh", 4: "aten.tanh", 5: "aten.sign"}
_OPTIONS = {
    "CONV_2D": "Conv2DOptions", "DEPTHWISE_CONV_2D": "DepthwiseConv2DOptions",
    "AVERAGE_POOL_2D": "Pool2DOptions",
    "MAX_POOL_2D": "Pool2DOptions", "FULLY_CONNECTED": "FullyConnectedOptions",
    "TRANSPOSE_CONV": "TransposeConvOptions", "ADD": "AddOptions", "SUB": "SubOptions", "MUL": "MulOptions",
    "DIV": "DivOptions", "CONCATENATION": "ConcatenationOptions",
}  # fmt: skip


def weight_slots(code: str) -> tuple[int, ...]:
    """Input slots of a TFLite op that hold parameters.

    >>> weight_slots("CONV_2D"), weight_slots("TRANSPOSE_CONV"), weight_slots("RELU")
    ((1, 2), (1, 3), ())
    """
    return _WEIGHT_SLOTS.get(code, ())


def _options(tflite: Any, op: Any, code: str) -> Any:
    cls = _OPTIONS.get(code)
    table = op.BuiltinOptions()
    if cls is None or table is None:
        return None
    opts = getattr(tflite, cls)()
    opts.Init(table.Bytes, table.Pos)
    return opts


def cost(
    tflite: Any,
    layer: LayerRecord,
    code: str,
    op: Any,
    shapes: list[list[int] | None],
    out: list[int] | None,
    ins: list[int],
    graph: Any,
) -> None:
    """Fill `layer`'s costs (variant, receptive-field rule) for one TFLite operator."""
    x = shapes[0] if shapes else None
    if x is not None and len(x) == 4:
        layer.spatial = (x[1], x[2])
    if out is None:
        layer.add(f"{code} (shape unknown)", None)
        return
    opts = _options(tflite, op, code)
    try:
        if code in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            _conv(layer, code, opts, x, shapes[1], len(shapes) > 2 and shapes[2] is not None, out)  # type: ignore[arg-type]
        elif code == "TRANSPOSE_CONV":
            _transpose_conv(layer, opts, shapes, out)
        elif code == "FULLY_CONNECTED":
            w = shapes[1]
            rows = math.prod(x) // w[1]  # type: ignore[arg-type, index]
            bias = len(shapes) > 2 and shapes[2] is not None
            aten = "aten.addmm" if bias else "aten.mm"
            a, b = meta_tensor([rows, w[1]]), meta_tensor([w[1], w[0]])  # type: ignore[index]
            layer.kind = "linear"
            layer.add(
                f"FULLY_CONNECTED → {aten}",
                formula_cost(aten, (meta_tensor([1]), a, b) if bias else (a, b), meta_tensor(out)),
            )
        elif code == "BATCH_MATMUL":
            a, b = shapes[0], shapes[1]
            batch = math.prod(out[:-2])
            layer.kind = "linear"
            lhs, rhs = meta_tensor([batch, a[-2], a[-1]]), meta_tensor([batch, b[-2], b[-1]])  # type: ignore[index]
            layer.add("BATCH_MATMUL → aten.bmm", formula_cost("aten.bmm", (lhs, rhs), meta_tensor(out)))
        elif code in ("MAX_POOL_2D", "AVERAGE_POOL_2D"):
            aten = "aten.max_pool2d" if code == "MAX_POOL_2D" else "aten.avg_pool2d"
            k = [opts.FilterHeight(), opts.FilterWidth()]
            layer.add(f"{code} → {aten}", formula_cost(aten, (meta_tensor(x), k), meta_tensor(out)))  # type: ignore[arg-type]
            layer.field_rule = "window"
            layer.window = ((k[0], k[1]), (opts.StrideH(), opts.StrideW()), (1, 1))
        elif code in ATEN:
            aten = ATEN[code]
            layer.add(
                f"{code} → {aten}",
                formula_cost(aten, tuple(meta_tensor(s) if s else None for s in shapes), meta_tensor(out)),
            )
            _field_rule(layer, code, x, out, ins, graph)
        else:
            layer.add(code, None)
            return
    except (ConfigError, KeyError, IndexError, ValueError, TypeError, AttributeError) as exc:
        layer.add(f"{code} (formula failed: {type(exc).__name__})", None)
        return
    fused = getattr(opts, "FusedActivationFunction", None)
    if fused is not None and fused() in _FUSED:
        aten = _FUSED[fused()]
        layer.add(f"fused activation → {aten}", formula_cost(aten, (), meta_tensor(out)))


def _field_rule(
    layer: LayerRecord, code: str, x: list[int] | None, out: list[int], ins: list[int], graph: Any
) -> None:
    if x is None or len(x) != 4:
        return
    if code in ("RESHAPE", "SQUEEZE") and len(out) <= 2:
        layer.field_rule = "flatten"
    elif code in ("MEAN", "SUM", "REDUCE_MAX", "REDUCE_MIN") and (len(out) <= 2 or out[1:3] == [1, 1]):
        layer.field_rule = "global"
    elif code.startswith("RESIZE"):
        layer.field_rule = "unknown"


def _conv(
    layer: LayerRecord, code: str, opts: Any, x: list[int], w: list[int], bias: bool, out: list[int]
) -> None:
    n, h, wd, cin = x
    cout = out[3]
    k = (w[1], w[2])
    groups = cin if code == "DEPTHWISE_CONV_2D" else cin // w[3]
    padding = SAME if opts.Padding() == 0 else VALID
    stage = Conv2dSpec(cin, cout, k, (opts.StrideH(), opts.StrideW()), padding,
                       (opts.DilationHFactor(), opts.DilationWFactor()), groups, bias)  # fmt: skip
    spec = classify_stage(stage)
    stage = spec.stages[0]
    if list(stage.output_size((h, wd))) != out[1:3]:
        raise ValueError(f"stored output {out} differs from convwise.core's {stage.output_size((h, wd))}")
    layer.spec, layer.kind, layer.description = spec, spec.kind, spec.describe()
    layer.add(f"{code} → convwise.core.stage_cost", conv2d_cost(stage, [n, cin, h, wd]))
    layer.field_rule = "window"
    layer.window = (stage.kernel_size, stage.stride, stage.dilation)


def _transpose_conv(layer: LayerRecord, opts: Any, shapes: list[Any], out: list[int]) -> None:
    w, x = shapes[1], shapes[2]  # inputs: output_shape, weights (Cout, kh, kw, Cin), input, bias
    xc, oc = to_nchw(x), to_nchw(out)
    k, s = [w[1], w[2]], [opts.StrideH(), opts.StrideW()]
    begin = [(s[i] * (xc[2 + i] - 1) + k[i] - oc[2 + i]) // 2 for i in range(2)]  # type: ignore[index]
    bias = meta_tensor([w[0]]) if len(shapes) > 3 and shapes[3] is not None else None
    args = (meta_tensor(xc), meta_tensor([w[3], w[0], k[0], k[1]]), bias, s, begin, [1, 1], True, [0, 0], 1)  # type: ignore[arg-type]
    layer.kind = "transposed_conv"
    layer.field_rule = "unknown"
    layer.input_shape = xc
    layer.inputs = [str(t) for t in layer.inputs[-1:]] if layer.inputs else []
    layer.add("TRANSPOSE_CONV → aten.convolution", formula_cost("aten.convolution", args, meta_tensor(oc)))
