"""SPEC §4: every worked example pinned exactly (errata included), Keras' parameter counts, receptive field.

The oracle is the published table itself (hand-derived figures in SPEC §4, Keras' `model.summary()`
counts), not convwise's own output.
"""

from __future__ import annotations

import pytest

from convwise.core import (
    Window,
    depthwise,
    grouped,
    grouped_separable,
    layer_cost,
    make_spec,
    pointwise,
    receptive_field,
    separable,
    standard,
)

# (id, spec factory, input C×H×W, output C×H×W, params, mults, accumulation adds, bias adds)
ROWS = [
    ("1x5x5 k3 1 filter", lambda: standard(1, 1, 3), (1, 5, 5), (1, 3, 3), 10, 81, 72, 9),
    ("1x5x5 k3 2 filters", lambda: standard(1, 2, 3), (1, 5, 5), (2, 3, 3), 20, 162, 144, 18),
    ("3x5x5 k3 1 filter", lambda: standard(3, 1, 3), (3, 5, 5), (1, 3, 3), 28, 243, 234, 9),
    ("3x5x5 k3 2 filters", lambda: standard(3, 2, 3), (3, 5, 5), (2, 3, 3), 56, 486, 468, 18),
    (
        "1x34x13 k10x4 s3x2 1 filter",
        lambda: standard(1, 1, (10, 4), stride=(3, 2)),
        (1, 34, 13),
        (1, 9, 5),
        41,
        1_800,
        1_755,
        45,
    ),
    (
        "1x34x13 k10x4 s3x2 128 filters",
        lambda: standard(1, 128, (10, 4), stride=(3, 2)),
        (1, 34, 13),
        (128, 9, 5),
        5_248,
        230_400,
        224_640,
        5_760,
    ),
    ("128x9x5 k3 1 filter", lambda: standard(128, 1, 3), (128, 9, 5), (1, 7, 3), 1_153, 24_192, 24_171, 21),
    (
        "128x9x5 k3 128 filters",
        lambda: standard(128, 128, 3),
        (128, 9, 5),
        (128, 7, 3),
        147_584,
        3_096_576,
        3_093_888,
        2_688,
    ),
    (
        "depthwise 128x9x5 k3",
        lambda: depthwise(128, 3),
        (128, 9, 5),
        (128, 7, 3),
        1_280,
        24_192,
        21_504,
        2_688,
    ),
    (
        "pointwise 128x7x3 -> 128",
        lambda: pointwise(128, 128),
        (128, 7, 3),
        (128, 7, 3),
        16_512,
        344_064,
        341_376,
        2_688,
    ),
    ("4x5x5 -> 10 k3 standard", lambda: standard(4, 10, 3), (4, 5, 5), (10, 3, 3), 370, 3_240, 3_150, 90),
    ("4x5x5 -> 10 k3 grouped g2", lambda: grouped(4, 10, 3, 2), (4, 5, 5), (10, 3, 3), 190, 1_620, 1_530, 90),
    (
        "4x5x5 -> 10 k3 dilation 2",
        lambda: standard(4, 10, 3, dilation=2),
        (4, 5, 5),
        (10, 1, 1),
        370,
        360,
        350,
        10,
    ),
]


@pytest.mark.parametrize(
    ("factory", "shape", "out", "params", "mults", "acc", "bias_adds"),
    [r[1:] for r in ROWS],
    ids=[r[0] for r in ROWS],
)
def test_spec_table_row(factory, shape, out, params, mults, acc, bias_adds):
    cost = layer_cost(factory(), shape)
    c = cost.counts
    assert cost.output_shape == (1, *out)
    assert (c.params, c.mults, c.acc_adds, c.bias_adds) == (params, mults, acc, bias_adds)
    assert c.macs == mults
    assert c.adds == acc + bias_adds
    assert c.flops == mults + acc + bias_adds


def test_34x13_without_bias_params():
    assert layer_cost(standard(1, 1, (10, 4), stride=(3, 2), bias=False), (1, 34, 13)).counts.params == 40
    assert (
        layer_cost(standard(1, 128, (10, 4), stride=(3, 2), bias=False), (1, 34, 13)).counts.params == 5_120
    )


def test_erratum_921600_is_230400():
    """Often printed as 921,600 multiplications; the right number is 230,400."""
    mults = layer_cost(standard(1, 128, (10, 4), stride=(3, 2)), (1, 34, 13)).counts.mults
    assert mults == 230_400
    assert mults != 921_600


def test_separable_4x5x5_to_10_erratum_324_and_684():
    cost = layer_cost(separable(4, 10, 3, bias_policy="pytorch"), (4, 5, 5))
    dw, pw = cost.stages
    assert cost.output_shape == (1, 10, 3, 3)
    assert (dw.counts.params, pw.counts.params, cost.counts.params) == (40, 50, 90)
    assert (dw.counts.mults, pw.counts.mults, cost.counts.mults) == (324, 360, 684)
    assert dw.counts.mults != 320 and cost.counts.mults != 680  # the published erratum


def test_grouped_separable_4x5x5_to_10():
    cost = layer_cost(grouped_separable(4, 10, 3, 2, bias_policy="pytorch"), (4, 5, 5))
    dw, pw = cost.stages
    assert (dw.counts.params, pw.counts.params, cost.counts.params) == (40, 30, 70)
    assert (dw.counts.mults, pw.counts.mults, cost.counts.mults) == (324, 180, 504)


def test_16_to_32_standard_vs_separable_erratum_706_is_704():
    std = layer_cost(standard(16, 32, 3), (16, 8, 8)).counts.params
    sep = layer_cost(separable(16, 32, 3, bias_policy="pytorch"), (16, 8, 8))
    assert std == 4_640
    assert [s.counts.params for s in sep.stages] == [160, 544]
    assert sep.counts.params == 704 != 706


@pytest.mark.parametrize(
    ("spec", "params"),
    [
        (make_spec("standard", 10, 32, 3, padding="same"), 2_912),  # Conv2D(32, 3)
        (make_spec("depthwise", 10, None, 3, padding="same"), 100),  # DepthwiseConv2D(3)
        (make_spec("separable", 10, 32, 3, padding="same", bias_policy="keras"), 442),  # SeparableConv2D
    ],
    ids=["Conv2D", "DepthwiseConv2D", "SeparableConv2D"],
)
def test_keras_parameter_counts(spec, params):
    cost = layer_cost(spec, (10, 224, 224))
    assert cost.counts.params == params
    assert cost.output_shape == (1, spec.out_channels, 224, 224)  # 'same' keeps 224×224 at stride 1


def test_keras_separable_split_90_plus_352():
    cost = layer_cost(separable(10, 32, 3, padding="same", bias_policy="keras"), (10, 224, 224))
    assert [s.counts.params for s in cost.stages] == [90, 352]


def test_fashion_mnist_separable_cnn_keras_counts():
    """The seed's Keras model: Conv2D 32, SepConv 32, pool, SepConv 64 ×2, pool, SepConv 128 ×2, pool."""
    convs = [
        (make_spec("standard", 1, 32, 3, padding="same"), (1, 28, 28)),
        (separable(32, 32, 3, padding="same", bias_policy="keras"), (32, 28, 28)),
        (separable(32, 64, 3, padding="same", bias_policy="keras"), (32, 14, 14)),
        (separable(64, 64, 3, padding="same", bias_policy="keras"), (64, 14, 14)),
        (separable(64, 128, 3, padding="same", bias_policy="keras"), (64, 7, 7)),
        (separable(128, 128, 3, padding="same", bias_policy="keras"), (128, 7, 7)),
    ]
    counts = [layer_cost(spec, shape).counts.params for spec, shape in convs]
    assert counts == [320, 1_344, 2_400, 4_736, 8_896, 17_664]
    # 7×7 → pool → 3×3; the dense layers are plain arithmetic (in·out + out)
    dense = [128 * 3 * 3 * 128 + 128, 128 * 10 + 10]
    assert dense == [147_584, 1_290]
    assert sum(counts) + sum(dense) == 184_234


def test_receptive_field_dilated_stack_erratum():
    """Stride 1: 1 + Σ dᵢ·(kᵢ−1) (= 15 for 3×3 at d = 1, 2, 4), not Σ dᵢ·(kᵢ−1) (= 14)."""
    rf = receptive_field([Window.of(3, 1, 1), Window.of(3, 1, 2), Window.of(3, 1, 4)])
    assert rf.size == (15, 15)
    assert rf.size != (14, 14)
    assert rf.jump == (1, 1)


def test_receptive_field_both_axes_and_jump():
    # k 3x1 stride 2x1, then k 3x3 stride 1: r_h = 1 + 2 + 2·2 = 7, r_w = 1 + 0 + 2 = 3; j = (2, 1)
    rf = receptive_field([Window.of((3, 1), (2, 1)), Window.of(3)])
    assert rf.size == (7, 3)
    assert rf.jump == (2, 1)
