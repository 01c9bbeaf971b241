"""DS-CNN S / M / L from "Hello Edge: Keyword Spotting on Microcontrollers" (Zhang et al. 2017).

Source of the architectures: ARM-software/ML-KWS-for-MCU, `train_commands.txt` (the `--model_size_info`
of each DS-CNN) and `models.py::create_ds_cnn_model`: on a 49×10 MFCC input (40 ms window, 20 ms
stride, 10 coefficients), a standard conv (10×4) then depthwise-separable 3×3 layers, every conv
followed by BatchNorm and ReLU, 'same' padding, global average pooling and a fully connected layer to
12 classes. Convs have no bias here (the original adds a bias before BatchNorm, which folding absorbs).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from convwise.core import config_error, make_spec, positive_int
from convwise.models.blocks import Named, conv_bn_act, sequential
from convwise.models.registry import register

INPUT_SHAPE = (1, 49, 10)


@dataclass(frozen=True)
class ConvRow:
    """One row of `model_size_info`: filters, kernel (time, frequency), stride (time, frequency)."""

    filters: int
    kernel_size: tuple[int, int]
    stride: tuple[int, int]


def _rows(
    filters: int, first_stride: tuple[int, int], strides: tuple[tuple[int, int], ...]
) -> tuple[ConvRow, ...]:
    return (ConvRow(filters, (10, 4), first_stride), *(ConvRow(filters, (3, 3), s) for s in strides))


#: `model_size_info` of train_commands.txt: the first row is the standard conv, the rest are DS layers.
DS_CNN_SIZES: dict[str, tuple[ConvRow, ...]] = {
    "S": _rows(64, (2, 2), ((1, 1),) * 4),
    "M": _rows(172, (2, 1), ((2, 2), (1, 1), (1, 1), (1, 1))),
    "L": _rows(276, (2, 1), ((2, 2), (1, 1), (1, 1), (1, 1), (1, 1))),
}


class DSCNN(nn.Sequential):
    """DS-CNN; input (N, 1, 49, 10), output logits (N, num_classes)."""

    config: dict[str, Any]


@register(
    "ds_cnn",
    description="DS-CNN S/M/L from Hello Edge (Zhang et al. 2017), 1×49×10 MFCC",
    input_shape=INPUT_SHAPE,
    defaults={"size": "S", "num_classes": 12},
)
def ds_cnn(
    size: str = "S",
    num_classes: int = 12,
    conv_bias: bool = False,
    device: Any = None,
    dtype: torch.dtype | None = None,
) -> DSCNN:
    """Build DS-CNN of the given size.

    Args:
        size: 'S', 'M' or 'L'.
        num_classes: outputs of the classifier (12 for Speech Commands: 10 words, silence, unknown).
        conv_bias: give every conv a bias before its BatchNorm, as the TF-slim original does.
        device, dtype: where to build the parameters.

    Raises:
        ConfigError: unknown size, bad class count.
    """
    key = size.upper() if isinstance(size, str) else size
    if key not in DS_CNN_SIZES:
        raise config_error(f"`size` must be one of {', '.join(DS_CNN_SIZES)}.", size=size)
    positive_int("num_classes", num_classes)
    kw: dict[str, Any] = {"device": device, "dtype": dtype}
    first, *rest = DS_CNN_SIZES[key]
    spec = make_spec(
        "standard", 1, first.filters, first.kernel_size, stride=first.stride, padding="same", bias=conv_bias
    )
    layers: Named = conv_bn_act("conv_1", spec, **kw)
    c = first.filters
    for i, row in enumerate(rest, start=1):
        dw = make_spec(
            "depthwise", c, None, row.kernel_size, stride=row.stride, padding="same", bias=conv_bias
        )
        pw = make_spec("pointwise", c, row.filters, bias=conv_bias)
        layers += conv_bn_act(f"conv_ds_{i}_dw_conv", dw, **kw)
        layers += conv_bn_act(f"conv_ds_{i}_pw_conv", pw, **kw)
        c = row.filters
    layers += [
        ("avg_pool", nn.AdaptiveAvgPool2d(1)),
        ("flatten", nn.Flatten()),
        ("fc1", nn.Linear(c, num_classes, **kw)),
    ]
    model = sequential(layers, DSCNN)
    model.config = {"size": key, "num_classes": num_classes, "conv_bias": conv_bias}  # type: ignore[assignment]
    model.input_shape = INPUT_SHAPE  # type: ignore[assignment]
    return model  # type: ignore[return-value]
