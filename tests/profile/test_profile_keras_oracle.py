"""Keras 3 (torch backend) builds the same architectures: its count_params() equals our `keras` view."""

from __future__ import annotations

import math
import os

import pytest

from keras_seed_model import seed_fashion_cnn

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras", reason="keras (test-only dependency, extra `dev`) is not installed")

from torch import nn  # noqa: E402

from convwise.layers import SeparableConv2d  # noqa: E402
from convwise.models import build  # noqa: E402
from convwise.profile import profile  # noqa: E402

L = keras.layers


def _count(weights: list) -> int:
    return sum(math.prod(int(d) for d in w.shape) for w in weights)


def _keras_totals(model) -> tuple[int, int, int]:
    return model.count_params(), _count(model.trainable_weights), _count(model.non_trainable_weights)


def _ours(report) -> tuple[int, int, int]:
    t = report.totals
    return t["params"], t["trainable_params"], t["non_trainable_params"]


def test_fashion_cnn_rows_and_shapes_match_keras() -> None:
    k = seed_fashion_cnn(keras)
    report = profile(build("fashion_separable_cnn").eval(), (1, 28, 28), keras=True)
    assert _ours(report) == _keras_totals(k) == (184_234, 184_234, 0)
    ours = [(r["params"], r["output_shape"]) for r in report.rows() if r["params"]]
    theirs = []
    for layer in k.layers:
        if layer.count_params():
            shape = list(layer.output.shape)
            # Keras is (None, H, W, C); ours is (N, C, H, W)
            nchw = [1, shape[3], shape[1], shape[2]] if len(shape) == 4 else [1, *shape[1:]]
            theirs.append((layer.count_params(), nchw))
    assert ours == theirs


def _torch_conv_bn_net(freeze: bool) -> nn.Module:
    model = nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1),
        nn.BatchNorm2d(16),
        nn.ReLU(),
        nn.Conv2d(16, 16, 3, padding=1, groups=16),  # DepthwiseConv2D (with bias)
        nn.BatchNorm2d(16),
        nn.ReLU(),
        SeparableConv2d(16, 24, 3, padding="same", bias_policy="keras"),
        nn.BatchNorm2d(24),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(24, 7),
    )
    if freeze:
        for p in [*model[0].parameters(), *model[1].parameters()]:
            p.requires_grad_(False)
    return model.eval()


@pytest.mark.parametrize("freeze", [False, True])
def test_conv_bn_net_keras_view_equals_keras(freeze: bool) -> None:
    conv = L.Conv2D(16, 3, padding="same")
    bn = L.BatchNormalization()
    k = keras.Sequential(
        [
            keras.Input((20, 20, 3)),
            conv,
            bn,
            L.ReLU(),
            L.DepthwiseConv2D(3, padding="same"),
            L.BatchNormalization(),
            L.ReLU(),
            L.SeparableConv2D(24, 3, padding="same"),
            L.BatchNormalization(),
            L.GlobalAveragePooling2D(),
            L.Dense(7),
        ]
    )
    if freeze:
        conv.trainable = False
        bn.trainable = False
    report = profile(_torch_conv_bn_net(freeze), (3, 20, 20), keras=True)
    assert _ours(report) == _keras_totals(k)
    # without the Keras view, BN statistics are buffers, not parameters
    plain = report.with_keras(False).totals
    assert plain["params"] == k.count_params() - 2 * (16 + 16 + 24)


def test_mobilenet_keras_applications() -> None:
    k = keras.applications.MobileNet(alpha=0.25, weights=None, input_shape=(96, 96, 3))
    report = profile(
        build("mobilenet_v1", width_multiplier=0.25, resolution=96).eval(), (3, 96, 96), keras=True
    )
    assert _ours(report) == _keras_totals(k)
