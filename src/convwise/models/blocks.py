"""Building blocks shared by the zoo: a conv variant followed by BatchNorm and an activation, named."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from convwise.core import LayerSpec, config_error
from convwise.layers import build_layer

#: Activations the zoo builders accept by name.
ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "relu6": nn.ReLU6}

Named = list[tuple[str, nn.Module]]


def activation(name: str) -> nn.Module:
    """A fresh activation module by name.

    Raises:
        ConfigError: for an unknown name.
    """
    if name not in ACTIVATIONS:
        raise config_error(f"`activation` must be one of {', '.join(ACTIVATIONS)}.", activation=name)
    return ACTIVATIONS[name]()


def conv_bn_act(
    name: str,
    spec: LayerSpec,
    act: str | None = "relu",
    *,
    batch_norm: bool = True,
    device: Any = None,
    dtype: torch.dtype | None = None,
) -> Named:
    """`name` (the conv), `name_bn` (BatchNorm2d), `name_relu` (activation) as (name, module) pairs."""
    out: Named = [(name, build_layer(spec, device=device, dtype=dtype))]
    if batch_norm:
        out.append((f"{name}_bn", nn.BatchNorm2d(spec.out_channels, device=device, dtype=dtype)))
    if act is not None:
        out.append((f"{name}_relu", activation(act)))
    return out


def sequential(layers: Named, cls: type[nn.Sequential] = nn.Sequential) -> nn.Sequential:
    """An `nn.Sequential` (or subclass) whose children carry the given names."""
    model = cls()
    for n, module in layers:
        if hasattr(model, n):
            raise config_error("Duplicate layer name.", name=n)
        model.add_module(n, module)
    return model
