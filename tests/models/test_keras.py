"""Keras 3 (torch backend) as the oracle: the seed CNN and keras.applications.MobileNet param counts."""

from __future__ import annotations

import math
import os

import pytest

from keras_seed_model import seed_fashion_cnn

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras", reason="keras (test-only dependency, extra `dev`) is not installed")

from torch import nn  # noqa: E402

from convwise.models import build  # noqa: E402
from convwise.profile import profile  # noqa: E402


def keras_param_counts(model: nn.Module) -> tuple[int, int]:
    """(trainable, non-trainable) of the profile's Keras view (BatchNorm statistics non-trainable)."""
    totals = profile(model, keras=True).totals
    return totals["trainable_params"], totals["non_trainable_params"]


def _count(weights: list) -> int:
    return sum(math.prod(int(d) for d in w.shape) for w in weights)


def _numel(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_seed_fashion_cnn_matches_keras_layer_by_layer() -> None:
    k = seed_fashion_cnn(keras)
    ours = build("fashion_separable_cnn")
    keras_layers = [layer.count_params() for layer in k.layers if layer.count_params()]
    our_layers = [_numel(m) for m in ours.children() if _numel(m)]
    assert our_layers == keras_layers
    assert keras_param_counts(ours) == (k.count_params(), 0) == (184_234, 0)


@pytest.mark.parametrize("alpha", [1.0, 0.75, 0.5, 0.25])
def test_mobilenet_keras_view_equals_keras_count_params(alpha: float) -> None:
    k = keras.applications.MobileNet(alpha=alpha, weights=None, input_shape=(128, 128, 3))
    ours = build("mobilenet_v1", width_multiplier=alpha, resolution=128, device="meta")
    trainable, non_trainable = keras_param_counts(ours)
    assert trainable == _count(k.trainable_weights)
    assert non_trainable == _count(k.non_trainable_weights)
    assert trainable + non_trainable == k.count_params()
    # layer by layer, by Keras' names (BatchNorm: γ, β + moving mean/variance)
    for name, module in ours.named_children():
        if name in ("predictions", "dropout", "flatten", "global_average_pooling2d") or not _numel(module):
            continue
        extra = 2 * module.num_features if isinstance(module, nn.BatchNorm2d) else 0
        assert k.get_layer(name).count_params() == _numel(module) + extra, name
    assert k.get_layer("conv_preds").count_params() == _numel(ours.predictions)


@pytest.mark.parametrize("alpha", [1.0, 0.35, 1.4])
def test_mobilenet_v2_keras_view_equals_keras_count_params(alpha: float) -> None:
    k = keras.applications.MobileNetV2(alpha=alpha, weights=None, input_shape=(96, 96, 3))
    ours = build("mobilenet_v2", width_multiplier=alpha, resolution=96, device="meta")
    trainable, non_trainable = keras_param_counts(ours)
    assert (trainable, non_trainable) == (_count(k.trainable_weights), _count(k.non_trainable_weights))
