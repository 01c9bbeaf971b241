"""Keras 3 models (objects and .keras files): totals equal Keras' own `count_params()` and trainable split;
convs are convwise's variants; MACs equal the PyTorch zoo model of the same architecture."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from keras_seed_model import seed_fashion_cnn

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras", reason="keras (extras `keras`, `dev`) is not installed")

from convwise.core import ConfigError  # noqa: E402
from convwise.formats import summarize_file  # noqa: E402
from convwise.formats.keras_file import keras_summary, read_keras  # noqa: E402
from convwise.models import build  # noqa: E402
from convwise.profile import profile  # noqa: E402

L = keras.layers


def _count(weights: list) -> int:
    return sum(math.prod(int(d) for d in w.shape) for w in weights)


def _keras_split(model) -> tuple[int, int, int]:
    return model.count_params(), _count(model.trainable_weights), _count(model.non_trainable_weights)


def _split(report) -> tuple[int, int, int]:
    t = report.totals
    return t["params"], t["trainable_params"], t["non_trainable_params"]


def test_seed_cnn_equals_keras_count_params_and_the_pytorch_zoo_model() -> None:
    model = seed_fashion_cnn(keras)
    report = keras_summary(model)
    assert _split(report) == _keras_split(model) == (184_234, 184_234, 0)
    assert [r["params"] for r in report.rows()] == [layer.count_params() for layer in model.layers]
    torch_report = profile(build("fashion_separable_cnn").eval(), (1, 28, 28))
    for key in ("params", "macs", "flops", "other_ops"):  # same architecture, same conventions
        assert report.totals[key] == torch_report.totals[key], key
    assert report.totals["receptive_field"] == torch_report.totals["receptive_field"]
    assert "torch backend" in " ".join(report.notes)


def test_spec_keras_counts_and_variants() -> None:
    """SPEC §4: on 224×224×10, `same`: Conv2D(32, 3) 2,912; DepthwiseConv2D(3) 100; SeparableConv2D 442."""
    cases = [
        (L.Conv2D(32, 3, padding="same"), 2_912, "standard", 32 * 224 * 224 * 10 * 9),
        (L.DepthwiseConv2D(3, padding="same"), 100, "depthwise", 10 * 224 * 224 * 9),
        (
            L.SeparableConv2D(32, 3, padding="same"),
            442,
            "separable",
            10 * 224 * 224 * 9 + 32 * 224 * 224 * 10,
        ),
    ]
    for layer, params, kind, macs in cases:
        model = keras.Sequential([keras.Input((224, 224, 10)), layer])
        row = keras_summary(model).rows()[0]
        assert (
            (row["params"], row["kind"], row["macs"])
            == (params, kind, macs)
            == (model.count_params(), kind, macs)
        )


@pytest.mark.parametrize(
    ("layer", "kind"),
    [
        (L.DepthwiseConv2D(3, strides=2, depth_multiplier=2, padding="same"), "depthwise"),
        (L.Conv2D(12, 3, groups=2, strides=2, padding="same"), "grouped"),
        (L.Conv2D(12, (3, 5), dilation_rate=2, padding="valid", use_bias=False), "standard"),
        (L.SeparableConv2D(8, 3, depth_multiplier=3, strides=2, padding="same", use_bias=False), "separable"),
    ],
)
def test_conv_variants_have_keras_shapes_params_and_hand_derived_macs(layer, kind: str) -> None:
    model = keras.Sequential([keras.Input((11, 13, 6)), layer])
    row = keras_summary(model).rows()[0]
    ho, wo, cout = (int(d) for d in layer.output.shape[1:])  # Keras' own output shape
    assert row["output_shape"] == [1, cout, ho, wo]
    assert (row["params"], row["kind"]) == (model.count_params(), kind)
    kh, kw = layer.kernel_size
    if kind == "separable":  # depthwise at the output size, then pointwise 6·m → cout
        m = layer.depth_multiplier
        macs = 6 * m * ho * wo * kh * kw + cout * ho * wo * 6 * m
    else:
        g = {"depthwise": 6, "grouped": 2}.get(kind, 1)
        macs = cout * ho * wo * (6 // g) * kh * kw  # Cout·Ho·Wo·(Cin/g)·kh·kw
    assert row["macs"] == macs


def test_batchnorm_and_frozen_layers_split_like_keras() -> None:
    frozen = L.Conv2D(8, 3, padding="same")
    frozen.trainable = False
    model = keras.Sequential(
        [
            keras.Input((16, 16, 3)),
            frozen,
            L.BatchNormalization(),
            L.ReLU(),
            L.GlobalAveragePooling2D(),
            L.Dense(4, activation="softmax"),
        ]
    )
    report = keras_summary(model)
    assert _split(report) == _keras_split(model)
    assert report.totals["non_trainable_params"] == 8 * 27 + 8 + 2 * 8  # frozen conv + moving mean/variance
    assert report.with_keras(False).totals["buffers"] == 16  # the PyTorch view: statistics are buffers
    bn = report.rows()[1]
    assert (bn["kind"], bn["other_ops"]) == ("batch_norm", 2 * 8 * 16 * 16)
    assert report.rows()[-1]["other_ops"] == 4  # the fused softmax, 1 per element


def test_functional_model_with_branches_and_unknown_axes() -> None:
    inp = keras.Input((None, None, 3))
    a = L.Conv2D(4, 3, padding="same")(inp)
    b = L.Conv2D(4, 1)(inp)
    y = L.Add()([a, b])
    y = L.Concatenate()([y, a])
    model = keras.Model(inp, L.GlobalMaxPooling2D()(y))
    with pytest.raises(ConfigError, match="unknown axes"):
        read_keras(model)
    report = keras_summary(model, [(3, 8, 10)], batch=2)
    rows = {r["name"]: r for r in report.rows()}
    assert rows["add"]["other_ops"] == 2 * 4 * 8 * 10
    assert rows["concatenate"]["output_shape"] == [2, 8, 8, 10]
    assert report.totals["macs"] == 2 * (4 * 8 * 10 * 27 + 4 * 8 * 10 * 3)
    assert _split(report)[0] == model.count_params()


def test_keras_file_cli_and_errors(tmp_path: Path) -> None:
    model = seed_fashion_cnn(keras)
    path = tmp_path / "seed.keras"
    model.save(path)
    report = summarize_file(path)
    assert _split(report) == _keras_split(model)
    assert report.model_name == "seed.keras"
    # a loaded model's graph (Keras rebuilds a Sequential several times on load) gives the same rows
    keys = ("name", "output_shape", "params", "macs", "other_ops", "receptive_field")
    in_memory = keras_summary(model).rows()
    assert [[r[k] for k in keys] for r in report.rows()] == [[r[k] for k in keys] for r in in_memory]
    bad = tmp_path / "bad.keras"
    bad.write_bytes(b"not a zip")
    with pytest.raises(ConfigError, match=r"not a valid Keras model.*bad\.keras"):
        summarize_file(bad)


def test_custom_object_file_is_a_one_line_error(tmp_path: Path) -> None:
    @keras.saving.register_keras_serializable(package="convwise_test")
    class Doubler(L.Layer):
        def call(self, x):
            return x * 2

    model = keras.Sequential([keras.Input((4,)), Doubler(), L.Dense(2)])
    path = tmp_path / "custom.keras"
    model.save(path)
    # a fresh process does not know the custom class
    out = subprocess.run(
        [sys.executable, "-m", "convwise", "summary", str(path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "KERAS_BACKEND": "torch"},
    )
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "custom" in lines[0] and "custom.keras" in lines[0]
    # in this process it is registered: the layer is listed, uncounted
    report = keras_summary(model)
    assert report.status == "partial" and "Doubler" in report.totals["uncounted_ops"]


def test_nested_model_and_shared_layer_are_flattened_per_call() -> None:
    inner = keras.Sequential([keras.Input((8, 8, 4)), L.Conv2D(4, 3, padding="same")], name="block")
    shared = L.Conv2D(4, 1)
    inp = keras.Input((8, 8, 4))
    x = shared(inner(inp))
    x = shared(x)  # the same layer (and weights) called twice
    model = keras.Model(inp, x)
    report = keras_summary(model)
    names = [r["name"] for r in report.rows()]
    assert names[0].startswith("block/") and names[2] == names[1] + "#2"
    assert report.totals["params"] == model.count_params()  # the shared weights once
    assert report.totals["shared_params"] == 4 * 4 + 4
    assert report.totals["macs"] == 4 * 8 * 8 * 36 + 2 * (4 * 8 * 8 * 4)
    assert report.rows()[-1]["receptive_field"] == [3, 3]  # through the nested model: 3×3, then 1×1s
