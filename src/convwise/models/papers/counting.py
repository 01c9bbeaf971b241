"""How we count a zoo model for a paper's table: `convwise.profile` on the meta device, counted layers only.

The papers count convolutions and fully connected layers (BatchNorm, activations, pooling and residual
additions are not Mult-Adds); their parameters are those layers' weights and biases.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from convwise.profile.breakdown import LayerRow


@dataclass(frozen=True)
class Counted:
    """A model's profile reduced to what the papers count.

    Attributes:
        model: the model (built on the meta device, in eval mode).
        layers: its conv and fully connected layers, as (profile row, conv spec or None).
        macs: MACs of those layers.
        counted_params: their parameters (weights and biases).
        params: every parameter of the model (BatchNorm included).
        linear_macs: the fully connected layers' share of `macs` (the classifier).
    """

    model: Any
    layers: tuple[LayerRow, ...]
    macs: int
    counted_params: int
    params: int
    linear_macs: int


def count(name: str, input_shape: tuple[int, int, int], **config: Any) -> Counted:
    """Profile the zoo model `name` (built on the meta device, in eval mode) on one sample of that shape."""
    from convwise.models.registry import build
    from convwise.profile import profile
    from convwise.profile.breakdown import counted_layers

    model = build(name, device="meta", **config).eval()
    report = profile(model, input_shape)
    layers = tuple(counted_layers(report))
    return Counted(
        model,
        layers,
        sum(row["macs"] for row, _ in layers),
        sum(row["params"] for row, _ in layers),
        report.totals["params"],
        sum(row["macs"] for row, spec in layers if spec is None),
    )


def numel(shape: list[int] | tuple[int, ...]) -> int:
    """Elements of a tensor of `shape`.

    >>> numel((1, 8, 4, 4))
    128
    """
    n = 1
    for v in shape:
        n *= v
    return n
