"""The seed's keyword-spotting front end on a 34×13×1 MFCC input: a standard, depthwise or separable block.

Conv 10×4, stride 3×2, 128 filters (valid: 128×9×5, 5,248 params), ReLU, then a 3×3 block (valid:
128×7×3): a standard conv (147,584 params), a depthwise conv (1,280) or a depthwise-separable conv
(1,280 + 16,512). These are worked examples of docs/cost-model.md; all convs have a bias, as in the seed.
With `num_classes` > 0 a Flatten + Linear head is added.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from convwise.core import config_error, make_spec, non_negative_int
from convwise.core.spec import BIAS_POLICIES
from convwise.layers import build_layer
from convwise.models.blocks import Named, sequential
from convwise.models.registry import register

INPUT_SHAPE = (1, 34, 13)
#: The `conv_kind` choices of the 3×3 block.
CONV_KINDS: tuple[str, ...] = ("standard", "depthwise", "separable")


@dataclass(frozen=True)
class KwsFrontEnd:
    """The front end as data."""

    filters: int = 128
    kernel_size: tuple[int, int] = (10, 4)
    stride: tuple[int, int] = (3, 2)
    block_kernel: int = 3


KWS_FRONT_END = KwsFrontEnd()


class KwsCNN(nn.Sequential):
    """The seed's KWS front end; input (N, 1, 34, 13)."""

    config: dict[str, Any]


@register(
    "kws_cnn",
    description="The seed's KWS front end (conv 10×4/3×2, 128 filters, then a 3×3 block), 1×34×13",
    input_shape=INPUT_SHAPE,
    defaults={"conv_kind": "separable", "num_classes": 0, "bias_policy": "pytorch"},
)
def kws_cnn(
    conv_kind: str = "separable",
    num_classes: int = 0,
    bias_policy: str = "pytorch",
    device: Any = None,
    dtype: torch.dtype | None = None,
) -> KwsCNN:
    """Build the KWS front end.

    Args:
        conv_kind: the 3×3 block: 'standard', 'depthwise' or 'separable'.
        num_classes: 0 for the front end alone (output 128×7×3), else a Flatten + Linear head.
        bias_policy: biases of the separable block ('pytorch': both, 'keras': pointwise only, 'none').
        device, dtype: where to build the parameters.

    Raises:
        ConfigError: unknown conv kind or bias policy, negative class count.
    """
    if conv_kind not in CONV_KINDS:
        raise config_error(f"`conv_kind` must be one of {', '.join(CONV_KINDS)}.", conv_kind=conv_kind)
    if bias_policy not in BIAS_POLICIES:
        raise config_error(
            f"`bias_policy` must be one of {', '.join(BIAS_POLICIES)}.", bias_policy=bias_policy
        )
    non_negative_int("num_classes", num_classes)
    fe = KWS_FRONT_END
    kw: dict[str, Any] = {"device": device, "dtype": dtype}
    c = fe.filters
    layers: Named = [
        ("conv2d", build_layer(make_spec("standard", 1, c, fe.kernel_size, stride=fe.stride), **kw)),
        ("activation", nn.ReLU()),
    ]
    if conv_kind == "standard":
        layers.append(("conv2d_1", build_layer(make_spec("standard", c, c, fe.block_kernel), **kw)))
    elif conv_kind == "depthwise":
        layers.append(
            ("depthwise_conv2d", build_layer(make_spec("depthwise", c, None, fe.block_kernel), **kw))
        )
    else:
        spec = make_spec("separable", c, c, fe.block_kernel, bias_policy=bias_policy)  # type: ignore[arg-type]
        layers.append(("separable_conv2d", build_layer(spec, **kw)))
    layers.append(("activation_1", nn.ReLU()))
    if num_classes:
        layers += [("flatten", nn.Flatten()), ("dense", nn.Linear(c * 7 * 3, num_classes, **kw))]
    model = sequential(layers, KwsCNN)
    model.config = {"conv_kind": conv_kind, "num_classes": num_classes, "bias_policy": bias_policy}  # type: ignore[assignment]
    model.input_shape = INPUT_SHAPE  # type: ignore[assignment]
    return model  # type: ignore[return-value]
