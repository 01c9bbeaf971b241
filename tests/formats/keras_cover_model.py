"""A small Keras model using every layer the TFLite reader must cost (the TFLite fixtures are made from it).

Defined once for the fixture script (run with TensorFlow, tests/fixtures/tflite/make_fixtures.py) and the
tests (Keras on the torch backend), so both sides count the same architecture.
"""

from __future__ import annotations

from typing import Any

INPUT_HWC = (32, 32, 3)


def cover_model(keras: Any) -> Any:
    """Conv (stride 2, BN, ReLU6) → depthwise ×2 → separable → pools → residual add → concat → bilinear
    upsampling → transposed conv → global pool → dense → softmax."""
    layers = keras.layers
    inp = keras.Input(INPUT_HWC)
    x = layers.Conv2D(16, 3, strides=2, padding="same", use_bias=False)(inp)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU(max_value=6.0)(x)
    d = layers.DepthwiseConv2D(3, padding="same", depth_multiplier=2, activation="relu")(x)
    s = layers.SeparableConv2D(32, 3, padding="same")(d)
    x = layers.Add()([d, s])
    x = layers.MaxPooling2D(2)(x)
    y = layers.AveragePooling2D(2, strides=1, padding="same")(x)
    x = layers.Concatenate()([x, y])
    x = layers.Conv2D(8, 1, activation="tanh")(x)
    x = layers.UpSampling2D(2, interpolation="bilinear")(x)
    x = layers.Conv2DTranspose(4, 3, strides=2, padding="same")(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dense(10)(x)
    out = layers.Softmax()(x)
    return keras.Model(inp, out, name="cover")
