"""The seed's Fashion-MNIST CNN in Keras, as the seed wrote it: the oracle several tests compare with."""

from __future__ import annotations

from typing import Any


def seed_fashion_cnn(keras: Any, head_activation: str | None = None) -> Any:
    """Conv2D 32 → SepConv 32 → pool → SepConv 64 ×2 → pool → SepConv 128 ×2 → pool → Dense 128 → Dense 10.

    `head_activation`: of the last Dense (the seed trains with "softmax"; the tests compare logits).
    """
    layers = keras.layers
    sep = {"padding": "same", "activation": "selu"}
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            layers.Conv2D(32, 3, **sep),
            layers.SeparableConv2D(32, 3, **sep),
            layers.MaxPooling2D(),
            layers.SeparableConv2D(64, 3, **sep),
            layers.SeparableConv2D(64, 3, **sep),
            layers.MaxPooling2D(),
            layers.SeparableConv2D(128, 3, **sep),
            layers.SeparableConv2D(128, 3, **sep),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dense(128, activation="selu"),
            layers.Dense(10, activation=head_activation),
        ]
    )
