"""The reverse what-if: a model's depthwise-separable blocks as the standard convs they replace.

MobileNet's Table 4 question — what do the separable blocks save? Each block (a convwise separable layer,
or a depthwise conv followed by a 1×1 conv, found by `convwise.layers.classify.separable_blocks`) is
costed as one standard conv with the same input, output, kernel, stride, padding and dilation. The model
is not rewritten (BatchNorm and activations between a depthwise and a 1×1 conv would not fit a single
conv); the costs come from `convwise.core` (per sample), the block's own MACs from the profile rows.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from convwise.core import layer_cost, make_spec, ratio_theory
from convwise.layers.classify import separable_blocks
from convwise.layers.families import is_conv2d
from convwise.models.whatif_report import ReplacedLayer, WhatIfResult

#: The reverse rewrite, in words.
REVERSE_REWRITE = "standard instead of separable"


def reverse_whatif(model: nn.Module, layers: list[dict[str, Any]]) -> WhatIfResult | None:
    """Every depthwise-separable block of `model` costed as one standard conv; None without such a block.

    Args:
        model: the model the rows describe (not changed).
        layers: its profile's layer rows in execution order (`Report.to_dict()["layers"]`: name,
            input_shape, macs).

    Returns:
        A cost-only `WhatIfResult` (no model) whose totals are over the replaced blocks only.
    """
    modules = dict(model.named_modules())
    rows = {row["name"]: row for row in layers}
    convs = [
        (row["name"], modules[row["name"]])
        for row in layers
        if row["name"] in modules and is_conv2d(modules[row["name"]]) and row.get("input_shape")
    ]
    replaced = []
    for names, spec in separable_blocks(convs):
        pw = spec.stages[-1]
        std = make_spec(
            "standard", spec.in_channels, spec.out_channels, spec.kernel_size, bias=pw.bias, **spec.window()
        )
        shape = rows[names[0]]["input_shape"]
        chw = (shape[1], shape[2], shape[3])
        after = layer_cost(std, chw)
        theory = ratio_theory(
            spec.kind,
            spec.out_channels,
            spec.kernel_size,
            groups=spec.groups,
            depth_multiplier=spec.depth_multiplier,
        ).inverse()
        replaced.append(
            ReplacedLayer(
                " + ".join(names),
                spec,
                std,
                chw,
                after.output_shape[1:],
                spec.params(),
                after.counts.params,
                sum(rows[n]["macs"] for n in names),
                after.counts.macs,
                theory.value,
                theory.text(),
            )
        )
    if not replaced:
        return None
    first = layers[0]["input_shape"] if layers and layers[0].get("input_shape") else [1, 0, 0, 0]
    return WhatIfResult(
        None,
        REVERSE_REWRITE,
        (first[1], first[2], first[3]),
        tuple(replaced),
        (),
        sum(r.params_before for r in replaced),
        sum(r.params_after for r in replaced),
        sum(r.macs_before or 0 for r in replaced),
        sum(r.macs_after or 0 for r in replaced),
        None,
        notes=["the reverse rewrite: how much the separable blocks save (MobileNet's Table 4 question)"],
        kind="standard",
    )


def standard_equivalent(model: nn.Module, layers: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The JSON form of `reverse_whatif` (the HTML report's first what-if), or None.

    >>> from convwise.profile import profile
    >>> net = nn.Sequential(nn.Conv2d(4, 4, 3, groups=4), nn.ReLU(), nn.Conv2d(4, 8, 1))
    >>> reverse = standard_equivalent(net, profile(net, (4, 6, 6)).to_dict()["layers"])
    >>> [(r["name"], r["params_before"], r["params_after"]) for r in reverse["replaced"]]
    [('0 + 2', 80, 296)]
    """
    result = reverse_whatif(model, layers)
    return None if result is None else result.to_dict()
