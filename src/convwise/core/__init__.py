"""Pure arithmetic of convolutions: specs, padding, output shapes, exact costs, receptive fields, scaling.

Standard library only: no torch, no numpy. Every number can be explained (`LayerCost.explain()`).

>>> from convwise.core import make_spec, layer_cost
>>> cost = layer_cost(make_spec("standard", 4, 10, 3), (4, 5, 5))
>>> cost.output_shape, cost.counts.params, cost.counts.mults
((1, 10, 3, 3), 370, 3240)
"""

from convwise.core.compare import Comparison, Variant, compare
from convwise.core.cost import (
    COUNT_FIELDS,
    Counts,
    LayerCost,
    StageCost,
    layer_cost,
    stage_cost,
    valid_taps,
)
from convwise.core.errors import (
    ConfigError,
    ConvwiseError,
    MissingDependencyError,
    config_error,
    missing_extra,
)
from convwise.core.explain import Explanation, fmt
from convwise.core.factories import (
    depthwise,
    grouped,
    grouped_separable,
    make_spec,
    pointwise,
    separable,
    standard,
)
from convwise.core.linear import LinearCost, linear_cost, linear_counts
from convwise.core.padding import SAME, VALID, Padding, parse_padding, same_amounts, same_total
from convwise.core.receptive import ReceptiveField, Window, receptive_field, window_step
from convwise.core.scaling import make_divisible, resolution_multiplier, scale_channels, scale_resolution
from convwise.core.spec import BIAS_POLICIES, KINDS, BiasPolicy, Conv2dSpec, Kind, LayerSpec
from convwise.core.theory import RatioTheory, ratio_theory, separable_ratio_theory
from convwise.core.validate import DTYPE_BYTES, dtype_bytes, non_negative_int, positive_int

__all__ = [
    "BIAS_POLICIES",
    "COUNT_FIELDS",
    "DTYPE_BYTES",
    "KINDS",
    "SAME",
    "VALID",
    "BiasPolicy",
    "Comparison",
    "ConfigError",
    "Conv2dSpec",
    "ConvwiseError",
    "Counts",
    "Explanation",
    "Kind",
    "LayerCost",
    "LayerSpec",
    "LinearCost",
    "MissingDependencyError",
    "Padding",
    "RatioTheory",
    "ReceptiveField",
    "StageCost",
    "Variant",
    "Window",
    "compare",
    "config_error",
    "depthwise",
    "dtype_bytes",
    "fmt",
    "grouped",
    "grouped_separable",
    "layer_cost",
    "linear_cost",
    "linear_counts",
    "make_divisible",
    "make_spec",
    "missing_extra",
    "non_negative_int",
    "parse_padding",
    "pointwise",
    "positive_int",
    "ratio_theory",
    "receptive_field",
    "resolution_multiplier",
    "same_amounts",
    "same_total",
    "scale_channels",
    "scale_resolution",
    "separable",
    "separable_ratio_theory",
    "stage_cost",
    "standard",
    "valid_taps",
    "window_step",
]
