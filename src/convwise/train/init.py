"""Weight initialisation of a recipe: PyTorch's own, or Keras' (glorot_uniform weights, zero biases)."""

from __future__ import annotations

import math

import torch
from torch import nn

INITS: tuple[str, ...] = ("torch", "keras")


def keras_fans(module: nn.Conv2d | nn.Linear) -> tuple[int, int]:
    """(fan_in, fan_out) of a layer's weight as Keras computes them for its own kernel layout.

    Keras keeps a conv kernel as (kh, kw, Cin/g, Cout), so fan_in = kh·kw·Cin/g and fan_out = kh·kw·Cout; a
    depthwise kernel as (kh, kw, Cin, m), so fan_in = kh·kw·Cin and fan_out = kh·kw·m; a dense kernel as
    (in, out). (PyTorch's own `fan_in` of a depthwise weight (Cin·m, 1, kh, kw) is kh·kw.)

    >>> keras_fans(nn.Conv2d(32, 32, 3, groups=32))  # depthwise: (3·3·32, 3·3·1)
    (288, 9)
    >>> keras_fans(nn.Conv2d(32, 64, 1)), keras_fans(nn.Linear(1152, 128))
    ((32, 64), (1152, 128))
    """
    if isinstance(module, nn.Linear):
        return module.in_features, module.out_features
    field = math.prod(module.kernel_size)
    if module.groups > 1 and module.groups == module.in_channels:  # depthwise
        return field * module.in_channels, field * (module.out_channels // module.in_channels)
    return field * module.in_channels // module.groups, field * module.out_channels


@torch.no_grad()
def keras_init_(model: nn.Module) -> nn.Module:
    """Re-initialise every Conv2d and Linear as Keras does by default, in place; returns `model`.

    Weights ~ U(−l, l) with l = sqrt(6 / (fan_in + fan_out)) (glorot_uniform, fans from `keras_fans`),
    biases 0. Draws from torch's global generator, in module order.

    >>> layer = keras_init_(nn.Linear(4, 2))
    >>> bool(layer.weight.abs().max() <= (6 / 6) ** 0.5), layer.bias.tolist()
    (True, [0.0, 0.0])
    """
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            fan_in, fan_out = keras_fans(module)
            limit = math.sqrt(6.0 / (fan_in + fan_out))
            module.weight.uniform_(-limit, limit)
            if module.bias is not None:
                module.bias.zero_()
    return model


__all__ = ["INITS", "keras_fans", "keras_init_"]
