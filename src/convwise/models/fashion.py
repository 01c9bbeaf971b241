"""The seed's Fashion-MNIST separable CNN (184,234 params), its conv variants and width multiplier.

Keras original (all 3×3 'same', SELU): Conv2D 32 → SeparableConv2D 32 → MaxPool → SepConv 64 ×2 → MaxPool
→ SepConv 128 ×2 → MaxPool → Flatten → Dense 128 → Dense 10, on 28×28×1. Keras' SeparableConv2D has no
depthwise bias, hence the `keras` bias policy by default.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from torch import nn

from convwise.core import config_error, make_spec, scale_channels
from convwise.layers import build_layer
from convwise.models.registry import register

#: The architecture as data: ("conv", channels) standard 3×3, ("sep", channels) the variable block, ("pool",).
FASHION_BLOCKS: tuple[tuple[str, int], ...] = (
    ("conv", 32),
    ("sep", 32),
    ("pool", 0),
    ("sep", 64),
    ("sep", 64),
    ("pool", 0),
    ("sep", 128),
    ("sep", 128),
    ("pool", 0),
)
CONV_KINDS = ("separable", "standard", "grouped", "grouped-separable")
ACTIVATIONS: dict[str, type[nn.Module]] = {"selu": nn.SELU, "relu": nn.ReLU, "elu": nn.ELU, "gelu": nn.GELU}


@dataclass(frozen=True)
class FashionConfig:
    """Configuration of the Fashion-MNIST CNN."""

    in_channels: int = 1
    num_classes: int = 10
    image_size: int = 28
    activation: str = "selu"
    conv_kind: str = "separable"
    groups: int = 2
    width_multiplier: float = 1.0
    bias_policy: str = "keras"
    hidden: int = 128


def fashion_layers(cfg: FashionConfig) -> list[tuple[str, nn.Module]]:
    """Named layers of the network (Keras-like names), built from `convwise.layers`."""
    if cfg.conv_kind not in CONV_KINDS:
        raise config_error(f"`conv_kind` must be one of {', '.join(CONV_KINDS)}.", conv_kind=cfg.conv_kind)
    if cfg.activation not in ACTIVATIONS:
        raise config_error(
            f"`activation` must be one of {', '.join(ACTIVATIONS)}.", activation=cfg.activation
        )
    act = ACTIVATIONS[cfg.activation]
    layers: list[tuple[str, nn.Module]] = []
    c = cfg.in_channels
    size = cfg.image_size
    counters: dict[str, int] = {}

    def name(base: str) -> str:
        i = counters.get(base, 0)
        counters[base] = i + 1
        return base if i == 0 else f"{base}_{i}"

    for kind, channels in FASHION_BLOCKS:
        if kind == "pool":
            layers.append((name("max_pooling2d"), nn.MaxPool2d(2)))
            size //= 2
            continue
        out = scale_channels(channels, cfg.width_multiplier)
        if kind == "conv":
            spec = make_spec("standard", c, out, 3, padding="same")
            layers.append((name("conv2d"), build_layer(spec)))
        else:
            extra: dict[str, Any] = {}
            if cfg.conv_kind in ("separable", "grouped-separable"):
                extra["bias_policy"] = cfg.bias_policy
            if cfg.conv_kind in ("grouped", "grouped-separable"):
                extra["groups"] = cfg.groups
            spec = make_spec(cfg.conv_kind, c, out, 3, padding="same", **extra)
            base = {"separable": "separable_conv2d", "standard": "conv2d"}.get(
                cfg.conv_kind, cfg.conv_kind.replace("-", "_") + "_conv2d"
            )
            layers.append((name(base), build_layer(spec)))
        layers.append((name("activation"), act()))
        c = out
    layers.append(("flatten", nn.Flatten()))
    layers.append(("dense", nn.Linear(c * size * size, cfg.hidden)))
    layers.append((name("activation"), act()))
    layers.append(("dense_1", nn.Linear(cfg.hidden, cfg.num_classes)))
    return layers


class FashionCNN(nn.Sequential):
    """The seed's Fashion-MNIST CNN; input (N, 1, 28, 28), output logits (N, num_classes)."""

    def __init__(self, cfg: FashionConfig | None = None) -> None:
        self.config = cfg or FashionConfig()
        super().__init__()
        for n, module in fashion_layers(self.config):
            self.add_module(n, module)


@register(
    "fashion_separable_cnn",
    description="The seed's Fashion-MNIST separable CNN (184,234 params), 1×28×28 input",
    input_shape=(1, 28, 28),
    defaults={f.name: f.default for f in fields(FashionConfig)},
    input_shape_fn=lambda in_channels=1, image_size=28, **_: (in_channels, image_size, image_size),
)
def fashion_separable_cnn(**config: Any) -> FashionCNN:
    """Build the seed's Fashion-MNIST CNN; keyword arguments are the fields of `FashionConfig`."""
    return FashionCNN(FashionConfig(**config))
