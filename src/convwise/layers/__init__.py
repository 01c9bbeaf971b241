"""PyTorch modules for every convolution variant, built from (and exposing) `convwise.core` specs.

Arguments are validated by `convwise.core` before torch sees them, so a layer and its cost report
cannot disagree. Every layer has `.spec` (a `LayerSpec`) and `.cost(input_shape)`.
"""

from convwise.layers.classify import classify_conv, classify_pair, classify_stage, find_separable_pairs
from convwise.layers.conv import (
    ConvVariant,
    DepthwiseConv2d,
    DilatedConv2d,
    GroupedConv2d,
    GroupedSeparableConv2d,
    PointwiseConv2d,
    SeparableConv2d,
    SpecConv2d,
    StandardConv2d,
    build_layer,
)

__all__ = [
    "ConvVariant",
    "DepthwiseConv2d",
    "DilatedConv2d",
    "GroupedConv2d",
    "GroupedSeparableConv2d",
    "PointwiseConv2d",
    "SeparableConv2d",
    "SpecConv2d",
    "StandardConv2d",
    "build_layer",
    "classify_conv",
    "classify_pair",
    "classify_stage",
    "find_separable_pairs",
]
