"""MobileNet v2 (Sandler et al. 2018, arXiv:1801.04381) as data: inverted residual blocks, width multiplier.

Table 2 of the paper: a 3×3 stride-2 conv with 32 filters, 17 inverted residual blocks given as rows
(expansion t, channels c, repeats n, first stride s), a 1×1 conv to 1280 channels, global average
pooling and a fully connected classifier. A block is 1×1 expand (when t > 1) → BN → ReLU6 → 3×3
depthwise (carrying the stride) → BN → ReLU6 → 1×1 linear projection → BN, plus the input when the
stride is 1 and the channels match. Channels follow `keras.applications.MobileNetV2` (and TF-slim's
published checkpoints): multiples of 8 (`_make_divisible`), the last conv stays 1280 for α ≤ 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import torch
from torch import nn

from convwise.core import config_error, make_divisible, make_spec, positive_int
from convwise.core.scaling import exact
from convwise.models.blocks import Named, conv_bn_act, sequential
from convwise.models.registry import register


@dataclass(frozen=True)
class InvertedResidualRow:
    """One row of Table 2: expansion t, output channels c, repeats n, stride s of the first repeat."""

    expansion: int
    channels: int
    repeats: int
    stride: int


STEM_CHANNELS = 32
LAST_CHANNELS = 1280
MOBILENET_V2_ROWS: tuple[InvertedResidualRow, ...] = (
    InvertedResidualRow(1, 16, 1, 1),
    InvertedResidualRow(6, 24, 2, 2),
    InvertedResidualRow(6, 32, 3, 2),
    InvertedResidualRow(6, 64, 4, 2),
    InvertedResidualRow(6, 96, 3, 1),
    InvertedResidualRow(6, 160, 3, 2),
    InvertedResidualRow(6, 320, 1, 1),
)


class InvertedResidual(nn.Sequential):
    """Expand → depthwise → project, with the identity shortcut when `residual` is True."""

    def __init__(self, layers: Named, residual: bool) -> None:
        super().__init__()
        for n, module in layers:
            self.add_module(n, module)
        self.residual = residual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y: torch.Tensor = super().forward(x)  # type: ignore[no-untyped-call]
        return x + y if self.residual else y


class MobileNetV2(nn.Sequential):
    """MobileNet v2; input (N, 3, resolution, resolution), output logits (N, num_classes)."""

    config: dict[str, Any]


def _keras_channels(channels: int, alpha: Fraction) -> int:
    # keras.applications.MobileNetV2: _make_divisible(int(filters * alpha), 8)
    return make_divisible(int(channels * alpha), 8)


def _shape(resolution: int = 224, **_: Any) -> tuple[int, int, int]:
    return (3, resolution, resolution)


@register(
    "mobilenet_v2",
    description="MobileNet v2 (α width multiplier, resolution), inverted residuals, 3×224×224",
    input_shape=(3, 224, 224),
    defaults={"width_multiplier": 1.0, "resolution": 224, "num_classes": 1000, "dropout": 0.0},
    input_shape_fn=_shape,
)
def mobilenet_v2(
    width_multiplier: float = 1.0,
    resolution: int = 224,
    num_classes: int = 1000,
    dropout: float = 0.0,
    device: Any = None,
    dtype: torch.dtype | None = None,
) -> MobileNetV2:
    """Build MobileNet v2.

    Args:
        width_multiplier: α; channels become multiples of 8 near α·C (Keras' rule); the last conv is
            1280 channels for α ≤ 1, else rounded α·1280.
        resolution: input side in pixels.
        num_classes: classifier outputs (1000; TF-slim's checkpoints use 1001 with a background class).
        dropout: dropout before the classifier.
        device, dtype: where to build the parameters (e.g. 'meta').

    Raises:
        ConfigError: bad α, resolution, class count or dropout.
    """
    alpha = exact(width_multiplier)
    positive_int("resolution", resolution)
    positive_int("num_classes", num_classes)
    if not (isinstance(dropout, (int, float)) and 0 <= dropout < 1):
        raise config_error("`dropout` must be in [0, 1).", dropout=dropout)
    kw: dict[str, Any] = {"device": device, "dtype": dtype}
    c = make_divisible(STEM_CHANNELS * alpha, 8)
    stem = make_spec("standard", 3, c, 3, stride=2, padding="same", bias=False)
    layers: Named = conv_bn_act("conv1", stem, "relu6", **kw)
    index = 0
    for row in MOBILENET_V2_ROWS:
        out = _keras_channels(row.channels, alpha)
        for r in range(row.repeats):
            stride = row.stride if r == 0 else 1
            mid = c * row.expansion
            block: Named = []
            if row.expansion != 1:
                block += conv_bn_act("expand", make_spec("pointwise", c, mid, bias=False), "relu6", **kw)
            dw = make_spec("depthwise", mid, None, 3, stride=stride, padding="same", bias=False)
            block += conv_bn_act("depthwise", dw, "relu6", **kw)
            block += conv_bn_act("project", make_spec("pointwise", mid, out, bias=False), None, **kw)
            layers.append((f"block_{index}", InvertedResidual(block, stride == 1 and c == out)))
            c = out
            index += 1
    last = make_divisible(LAST_CHANNELS * alpha, 8) if alpha > 1 else LAST_CHANNELS
    layers += conv_bn_act("conv_1", make_spec("pointwise", c, last, bias=False), "relu6", **kw)
    layers += [
        ("global_average_pooling2d", nn.AdaptiveAvgPool2d(1)),
        ("flatten", nn.Flatten()),
        ("dropout", nn.Dropout(dropout)),
        ("predictions", nn.Linear(last, num_classes, **kw)),
    ]
    model = sequential(layers, MobileNetV2)
    model.config = {
        "width_multiplier": width_multiplier,
        "resolution": resolution,
        "num_classes": num_classes,
        "dropout": dropout,
    }  # type: ignore[assignment]
    model.input_shape = (3, resolution, resolution)  # type: ignore[assignment]
    return model  # type: ignore[return-value]
