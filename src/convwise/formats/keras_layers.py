"""What each Keras layer costs: convs as convwise variant specs (`convwise.core`), the rest by aten formula.

Conv2D (with `groups`), DepthwiseConv2D (with `depth_multiplier`) and SeparableConv2D (Keras' bias policy:
pointwise bias only) become `convwise.core` specs, costed stage by stage by `stage_cost`. A layer's fused
`activation` is counted like the separate activation module PyTorch would use. Other layers map to the
aten op they compute (the profiler's formula table). Shapes arrive in Keras' channels-last layout.
"""

from __future__ import annotations

import math
from typing import Any

from convwise.core import ConfigError, depthwise, separable, standard
from convwise.core import grouped as grouped_spec
from convwise.formats.record import LayerRecord, conv2d_cost, formula_cost, meta_tensor, to_nchw
from convwise.layers.classify import classify_stage

#: Keras activation name → aten op (1 other op per output element; 'linear' costs nothing).
ACTIVATIONS: dict[str, str] = {
    "relu": "aten.relu", "relu6": "aten.hardtanh", "selu": "aten.elu", "elu": "aten.elu",
    "gelu": "aten.gelu", "silu": "aten.silu", "swish": "aten.silu", "sigmoid": "aten.sigmoid",
    "hard_sigmoid": "aten.hardsigmoid", "hard_silu": "aten.hardswish", "hard_swish": "aten.hardswish",
    "tanh": "aten.tanh", "softmax": "aten._softmax", "log_softmax": "aten._log_softmax",
    "softplus": "aten.softplus", "leaky_relu": "aten.leaky_relu", "mish": "aten.mish",
    "exponential": "aten.exp",
}  # fmt: skip
#: Layers that only move data (0 by definition), or that do nothing at inference (dropout, noise).
MOVEMENT = frozenset(
    {
        "Flatten", "Reshape", "Permute", "RepeatVector", "Concatenate", "ZeroPadding1D", "ZeroPadding2D",
        "ZeroPadding3D", "Cropping1D", "Cropping2D", "Cropping3D", "Dropout", "SpatialDropout1D",
        "SpatialDropout2D", "SpatialDropout3D", "GaussianNoise", "GaussianDropout", "AlphaDropout",
        "ActivityRegularization", "Identity", "Masking",
    }
)  # fmt: skip
_POOLS = {
    "MaxPooling2D": "aten.max_pool2d", "AveragePooling2D": "aten.avg_pool2d",
    "MaxPooling1D": "aten.max_pool1d", "AveragePooling1D": "aten.avg_pool1d",
    "MaxPooling3D": "aten.max_pool3d", "AveragePooling3D": "aten.avg_pool3d",
}  # fmt: skip
_GLOBAL_POOLS = {
    "GlobalAveragePooling2D": "aten.adaptive_avg_pool2d", "GlobalMaxPooling2D": "aten.adaptive_max_pool2d",
    "GlobalAveragePooling1D": "aten.adaptive_avg_pool1d", "GlobalMaxPooling1D": "aten.adaptive_max_pool1d",
}  # fmt: skip
_MERGE = {"Add": "aten.add", "Subtract": "aten.sub", "Multiply": "aten.mul", "Maximum": "aten.maximum",
          "Minimum": "aten.minimum", "Average": "aten.add"}  # fmt: skip
_NORMS = {"BatchNormalization": "aten._native_batch_norm_legit_no_training",
          "LayerNormalization": "aten.native_layer_norm", "GroupNormalization": "aten.native_group_norm",
          "UnitNormalization": "aten.native_layer_norm"}  # fmt: skip
_ACTIVATION_LAYERS = {"ReLU": "aten.relu", "LeakyReLU": "aten.leaky_relu", "ELU": "aten.elu",
                      "PReLU": "aten._prelu_kernel", "Softmax": "aten._softmax"}  # fmt: skip


def _channels_first(layer: Any) -> bool:
    return getattr(layer, "data_format", "channels_last") == "channels_first"


def _nchw(shape: list[int], layer: Any) -> list[int]:
    return list(shape) if _channels_first(layer) else (to_nchw(shape) or list(shape))


def cost(record: LayerRecord, layer: Any, ins: list[list[int]], outs: list[list[int]]) -> None:
    """Fill `record`'s costs (variant, receptive-field rule) for one Keras layer on concrete shapes."""
    cls = type(layer).__name__
    x, out = ins[0], outs[0]
    x4 = _nchw(x, layer) if len(x) == 4 else x
    out4 = _nchw(out, layer) if len(out) == 4 else out
    record.input_shape, record.output_shape = x4, out4
    if len(x4) == 4:
        record.spatial = (x4[2], x4[3])
    try:
        if cls in ("Conv2D", "DepthwiseConv2D", "SeparableConv2D"):
            _conv2d(record, layer, cls, x4, out4)
        elif cls in ("Conv1D", "Conv3D", "Conv2DTranspose", "Conv1DTranspose", "Conv3DTranspose"):
            _conv_nd(record, layer, cls, x, out)
        elif cls == "Dense":
            rows = math.prod(x[:-1])
            aten = "aten.addmm" if layer.use_bias else "aten.mm"
            a, b = meta_tensor([rows, x[-1]]), meta_tensor([x[-1], out[-1]])
            record.kind = "linear"
            record.add(
                f"Dense → {aten}",
                formula_cost(aten, (meta_tensor([1]), a, b) if layer.use_bias else (a, b), meta_tensor(out)),
            )
        elif cls in _NORMS:
            record.add(
                f"{cls} → {_NORMS[cls]}", formula_cost(_NORMS[cls], (meta_tensor(x),), meta_tensor(out))
            )
            if cls == "BatchNormalization":
                record.kind = "batch_norm"
        elif cls in _POOLS:
            k = [int(v) for v in layer.pool_size]
            record.add(
                f"{cls} → {_POOLS[cls]}", formula_cost(_POOLS[cls], (meta_tensor(x), k), meta_tensor(out))
            )
            if cls.endswith("2D"):
                stride = layer.strides or layer.pool_size
                record.field_rule = "window"
                record.window = ((k[0], k[1]), (int(stride[0]), int(stride[1])), (1, 1))
        elif cls in _GLOBAL_POOLS:
            record.add(
                f"{cls} → {_GLOBAL_POOLS[cls]}",
                formula_cost(_GLOBAL_POOLS[cls], (meta_tensor(x),), meta_tensor(out)),
            )
            record.field_rule = "global"
        elif cls in _MERGE:
            calls = len(ins) - 1 + (1 if cls == "Average" else 0)  # n inputs: n − 1 ops (+ 1 division)
            for _ in range(calls):
                record.add(f"{cls} → {_MERGE[cls]}", formula_cost(_MERGE[cls], (), meta_tensor(out)))
        elif cls in _ACTIVATION_LAYERS:
            record.add(
                f"{cls} → {_ACTIVATION_LAYERS[cls]}",
                formula_cost(_ACTIVATION_LAYERS[cls], (), meta_tensor(out)),
            )
        elif cls == "Activation":
            _activation(record, layer.activation, out)
        elif cls == "Rescaling":
            record.add("Rescaling → aten.mul", formula_cost("aten.mul", (), meta_tensor(out)))
            record.add("Rescaling → aten.add", formula_cost("aten.add", (), meta_tensor(out)))
        elif cls in ("UpSampling2D", "UpSampling1D", "UpSampling3D"):
            mode = getattr(layer, "interpolation", "nearest")
            aten = {"nearest": "aten.upsample_nearest2d", "bilinear": "aten.upsample_bilinear2d"}.get(mode)
            aten = "aten.upsample_nearest1d" if cls == "UpSampling1D" else aten
            record.field_rule = "unknown"
            record.add(
                f"{cls} ({mode})" + (f" → {aten}" if aten else ""),
                formula_cost(aten, (meta_tensor(x),), meta_tensor(out)) if aten else None,
            )
        elif cls in MOVEMENT:
            if cls == "Flatten" and len(x) == 4:
                record.field_rule = "flatten"
            record.add(f"{cls} (data movement)", formula_cost("aten.view", (), meta_tensor(out)))
        else:
            record.add(cls, None)
            return
    except (ConfigError, KeyError, IndexError, ValueError, TypeError, AttributeError) as exc:
        record.add(f"{cls} (formula failed: {type(exc).__name__})", None)
        return
    act = getattr(layer, "activation", None)
    if cls != "Activation" and act is not None:
        _activation(record, act, out)


def _activation(record: LayerRecord, fn: Any, out: list[int]) -> None:
    name = getattr(fn, "__name__", str(fn))
    if name == "linear":
        return
    aten = ACTIVATIONS.get(name)
    record.add(
        f"activation {name}" + (f" → {aten}" if aten else ""),
        formula_cost(aten, (), meta_tensor(out)) if aten else None,
    )


def _pair(v: Any) -> tuple[int, int]:
    v = [int(x) for x in (v if isinstance(v, (list, tuple)) else (v, v))]
    return (v[0], v[-1])


def _conv2d(record: LayerRecord, layer: Any, cls: str, x: list[int], out: list[int]) -> None:
    cin = x[1]
    k, s, d = _pair(layer.kernel_size), _pair(layer.strides), _pair(layer.dilation_rate)
    padding = layer.padding  # 'valid' or 'same' (TensorFlow's, which convwise.core implements)
    if cls == "SeparableConv2D":
        policy = "keras" if layer.use_bias else "none"
        m = layer.depth_multiplier
        spec = separable(
            cin,
            layer.filters,
            k,
            depth_multiplier=m,
            stride=s,
            padding=padding,
            dilation=d,
            bias_policy=policy,
        )
    elif cls == "DepthwiseConv2D":
        m = layer.depth_multiplier
        spec = depthwise(
            cin, k, depth_multiplier=m, stride=s, padding=padding, dilation=d, bias=layer.use_bias
        )
    elif getattr(layer, "groups", 1) != 1:
        g = layer.groups
        spec = grouped_spec(
            cin, layer.filters, k, g, stride=s, padding=padding, dilation=d, bias=layer.use_bias
        )
        spec = classify_stage(spec.stages[0])
    else:
        spec = standard(cin, layer.filters, k, stride=s, padding=padding, dilation=d, bias=layer.use_bias)
        spec = classify_stage(spec.stages[0])
    size = (x[2], x[3])
    for stage in spec.stages:
        record.add(
            f"{cls} [{stage.role}] → convwise.core.stage_cost",
            conv2d_cost(stage, [x[0], stage.in_channels, *size]),
        )
        size = stage.output_size(size)
    if [x[0], spec.out_channels, *size] != out:
        raise ValueError(f"Keras' output shape {out} differs from convwise.core's")
    record.spec, record.kind, record.description = spec, spec.kind, spec.describe()
    record.field_rule = "window"
    if len(spec.stages) == 1:
        record.window = (spec.kernel_size, spec.stride, spec.dilation)
    else:  # separable: the pointwise stage (1×1, stride 1) does not change the field
        record.window = (spec.stages[0].kernel_size, spec.stages[0].stride, spec.stages[0].dilation)


def _conv_nd(record: LayerRecord, layer: Any, cls: str, x: list[int], out: list[int]) -> None:
    """1-D/3-D and transposed convs: the profiler's convolution formula on channels-first shapes."""
    dims = len(x) - 2
    first = _channels_first(layer)
    xc = x if first else [x[0], x[-1], *x[1:-1]]
    oc = out if first else [out[0], out[-1], *out[1:-1]]
    k = [int(v) for v in layer.kernel_size]
    s = [int(v) for v in layer.strides]
    d = [int(v) for v in layer.dilation_rate]
    g = int(getattr(layer, "groups", 1) or 1)
    transposed = "Transpose" in cls
    if transposed:
        w = [xc[1], oc[1] // g, *k]
        out_pad = [int(v) for v in (layer.output_padding or [0] * dims)]
        begin = [
            (s[i] * (xc[2 + i] - 1) + out_pad[i] + d[i] * (k[i] - 1) + 1 - oc[2 + i]) // 2
            for i in range(dims)
        ]
    else:
        w, out_pad, begin = [oc[1], xc[1] // g, *k], [0] * dims, [0] * dims
    bias = meta_tensor([oc[1]]) if layer.use_bias else None
    args = (meta_tensor(xc), meta_tensor(w), bias, s, begin, d, transposed, out_pad, g)
    record.kind = "transposed_conv" if transposed else f"conv{dims}d"
    if transposed:
        record.field_rule = "unknown"
    record.input_shape, record.output_shape = xc, oc
    record.add(f"{cls} → aten.convolution", formula_cost("aten.convolution", args, meta_tensor(oc)))
