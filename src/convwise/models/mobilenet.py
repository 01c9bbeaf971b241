"""MobileNet v1 (Howard et al. 2017, arXiv:1704.04861) as data: width multiplier α, resolution, conv kind.

Table 1 of the paper: a 3×3 stride-2 standard conv with 32 filters, then 13 depthwise-separable blocks
(3×3 depthwise, 1×1 pointwise, each followed by BatchNorm and ReLU), global average pooling and a
1000-way fully connected layer. Convs have no bias (BatchNorm follows). Layer names follow
`keras.applications.MobileNet` (conv1, conv_dw_1, conv_pw_1, …). `conv_kind="standard"` replaces every
separable block by one full 3×3 conv (the paper's Table 4 "Conv MobileNet").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from convwise.core import config_error, make_spec, positive_int, scale_channels
from convwise.core.scaling import ROUNDINGS
from convwise.models.blocks import Named, conv_bn_act, sequential
from convwise.models.registry import register


@dataclass(frozen=True)
class SeparableBlock:
    """One row of Table 1: a 3×3 depthwise conv (carrying the stride) then a 1×1 conv to `out_channels`."""

    out_channels: int
    stride: int


#: The stem of Table 1: Conv 3×3, stride 2, 32 filters.
STEM_CHANNELS = 32
STEM_STRIDE = 2
#: The 13 depthwise-separable blocks of Table 1 (the last depthwise conv has stride 1, as in Keras).
MOBILENET_V1_BLOCKS: tuple[SeparableBlock, ...] = (
    SeparableBlock(64, 1),
    SeparableBlock(128, 2),
    SeparableBlock(128, 1),
    SeparableBlock(256, 2),
    SeparableBlock(256, 1),
    SeparableBlock(512, 2),
    *(SeparableBlock(512, 1) for _ in range(5)),
    SeparableBlock(1024, 2),
    SeparableBlock(1024, 1),
)
#: The `conv_kind` choices: the blocks as in the paper, or each block one full 3×3 conv (Table 4).
CONV_KINDS: tuple[str, ...] = ("separable", "standard")


class MobileNetV1(nn.Sequential):
    """MobileNet v1; input (N, 3, resolution, resolution), output logits (N, num_classes)."""

    config: dict[str, Any]


def mobilenet_v1_layers(
    width_multiplier: float = 1.0,
    num_classes: int = 1000,
    dropout: float = 1e-3,
    rounding: str = "paper",
    conv_kind: str = "separable",
    activation: str = "relu",
    in_channels: int = 3,
    device: Any = None,
    dtype: torch.dtype | None = None,
) -> Named:
    """The named layers of MobileNet v1 (see `mobilenet_v1`)."""
    if conv_kind not in CONV_KINDS:
        raise config_error(f"`conv_kind` must be one of {', '.join(CONV_KINDS)}.", conv_kind=conv_kind)
    if rounding not in ROUNDINGS:
        raise config_error(f"`rounding` must be one of {', '.join(ROUNDINGS)}.", rounding=rounding)
    positive_int("num_classes", num_classes)
    if not (isinstance(dropout, (int, float)) and 0 <= dropout < 1):
        raise config_error("`dropout` must be in [0, 1).", dropout=dropout)
    kw: dict[str, Any] = {"device": device, "dtype": dtype}

    def ch(c: int) -> int:
        return scale_channels(c, width_multiplier, rounding)  # type: ignore[arg-type]

    c = ch(STEM_CHANNELS)
    spec = make_spec("standard", in_channels, c, 3, stride=STEM_STRIDE, padding="same", bias=False)
    layers: Named = conv_bn_act("conv1", spec, activation, **kw)
    for i, block in enumerate(MOBILENET_V1_BLOCKS, start=1):
        out = ch(block.out_channels)
        if conv_kind == "separable":
            dw = make_spec("depthwise", c, None, 3, stride=block.stride, padding="same", bias=False)
            pw = make_spec("pointwise", c, out, bias=False)
            layers += conv_bn_act(f"conv_dw_{i}", dw, activation, **kw)
            layers += conv_bn_act(f"conv_pw_{i}", pw, activation, **kw)
        else:
            full = make_spec("standard", c, out, 3, stride=block.stride, padding="same", bias=False)
            layers += conv_bn_act(f"conv_{i}", full, activation, **kw)
        c = out
    layers += [
        ("global_average_pooling2d", nn.AdaptiveAvgPool2d(1)),
        ("flatten", nn.Flatten()),
        ("dropout", nn.Dropout(dropout)),
        ("predictions", nn.Linear(c, num_classes, **kw)),
    ]
    return layers


def _shape(resolution: int = 224, in_channels: int = 3, **_: Any) -> tuple[int, int, int]:
    return (in_channels, resolution, resolution)


@register(
    "mobilenet_v1",
    description="MobileNet v1 (α width multiplier, resolution, conv_kind=separable|standard), 3×224×224",
    input_shape=(3, 224, 224),
    defaults={
        "width_multiplier": 1.0,
        "resolution": 224,
        "num_classes": 1000,
        "dropout": 1e-3,
        "rounding": "paper",
        "conv_kind": "separable",
        "activation": "relu",
    },
    input_shape_fn=_shape,
)
def mobilenet_v1(
    width_multiplier: float = 1.0,
    resolution: int = 224,
    num_classes: int = 1000,
    dropout: float = 1e-3,
    rounding: str = "paper",
    conv_kind: str = "separable",
    activation: str = "relu",
    in_channels: int = 3,
    device: Any = None,
    dtype: torch.dtype | None = None,
) -> MobileNetV1:
    """Build MobileNet v1.

    Args:
        width_multiplier: α; every layer's channels become round(α·C) per `rounding`.
        resolution: input side in pixels (ρ = resolution/224); the network is fully convolutional up to the
            global pooling, so only the cost changes.
        num_classes: outputs of the final fully connected layer.
        dropout: dropout rate before the classifier (Keras' default 1e-3).
        rounding: 'paper' (int(α·C), as the paper and Keras) or 'tf' (multiples of 8).
        conv_kind: 'separable' (MobileNet) or 'standard' (every block a full 3×3 conv, Table 4).
        activation: 'relu' (the paper) or 'relu6' (Keras / TF-slim).
        device, dtype: where to build the parameters (e.g. 'meta').

    Returns:
        The model; `model.config` holds the configuration, `model.input_shape` the (C, H, W) it expects.

    Raises:
        ConfigError: bad α, resolution, rounding, conv kind, class count or dropout.
    """
    positive_int("resolution", resolution)
    layers = mobilenet_v1_layers(
        width_multiplier, num_classes, dropout, rounding, conv_kind, activation, in_channels, device, dtype
    )
    model = sequential(layers, MobileNetV1)
    model.config = {
        "width_multiplier": width_multiplier,
        "resolution": resolution,
        "num_classes": num_classes,
        "dropout": dropout,
        "rounding": rounding,
        "conv_kind": conv_kind,
        "activation": activation,
    }  # type: ignore[assignment]
    model.input_shape = (in_channels, resolution, resolution)  # type: ignore[assignment]
    return model  # type: ignore[return-value]
