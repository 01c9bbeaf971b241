"""TFLite files (made by TensorFlow's converter, tests/fixtures/tflite/make_fixtures.py): the same MACs as
the Keras model they came from and the PyTorch zoo model; int8 weights at 1 byte; differences named."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from keras_cover_model import INPUT_HWC, cover_model

from keras_seed_model import seed_fashion_cnn

pytest.importorskip("tflite", reason="tflite (extra `tflite-reader`) is not installed")
os.environ.setdefault("KERAS_BACKEND", "torch")

from convwise.core import ConfigError
from convwise.formats import summarize_file
from convwise.models import build
from convwise.profile import profile

FIXTURES = Path(__file__).parent.parent / "fixtures" / "tflite"


def _keras():
    return pytest.importorskip("keras", reason="keras (extras `keras`, `dev`) is not installed")


def _depthwise_biases_keras_lacks(model) -> int:
    """SeparableConv2D has no depthwise bias in Keras; the converter gives its depthwise conv one."""
    return sum(
        int(layer.input.shape[-1]) * layer.depth_multiplier
        for layer in model.layers
        if type(layer).__name__ == "SeparableConv2D"
    )


@pytest.mark.parametrize("name", ["seed_cnn.tflite", "seed_cnn_int8.tflite"])
def test_seed_cnn_matches_keras_and_the_pytorch_zoo_model(name: str) -> None:
    keras = _keras()
    report = summarize_file(FIXTURES / name)
    k = seed_fashion_cnn(keras)
    torch_report = profile(build("fashion_separable_cnn").eval(), (1, 28, 28))
    assert report.status == "complete"
    assert report.totals["macs"] == torch_report.totals["macs"] == 4_065_600
    # every conv gets a bias tensor: equal zero biases are stored once and shared
    t = report.totals
    assert t["params"] + t["shared_params"] == k.count_params() + _depthwise_biases_keras_lacks(k)
    assert t["bias_adds"] == torch_report.totals["bias_adds"] + sum(
        r["output_shape"][1] * r["output_shape"][2] * r["output_shape"][3]
        for r in report.rows()
        if r["type"] == "DEPTHWISE_CONV_2D"
    )
    assert report.totals["receptive_field"] == torch_report.totals["receptive_field"]
    kinds = [r["kind"] for r in report.rows() if r["macs"]]
    assert kinds == ["standard"] + ["depthwise", "pointwise"] * 5 + ["linear", "linear"]


def test_dynamic_range_int8_weights_are_counted_at_one_byte() -> None:
    """TensorFlow's dynamic-range rule: kernels with at least 1024 elements are stored as int8."""
    keras = _keras()
    k = seed_fashion_cnn(keras)
    float_file = summarize_file(FIXTURES / "seed_cnn.tflite")
    int8_file = summarize_file(FIXTURES / "seed_cnn_int8.tflite")
    extra = _depthwise_biases_keras_lacks(k) - float_file.totals["shared_params"]  # unique zero biases
    expected = 4 * extra
    for w in k.weights:
        n = math.prod(int(d) for d in w.shape)
        kernel = "kernel" in w.path
        expected += n if kernel and n >= 1024 else 4 * n
    assert float_file.totals["weight_bytes"] == 4 * float_file.totals["params"]
    assert int8_file.totals["weight_bytes"] == expected
    assert int8_file.totals["params"] == float_file.totals["params"]
    assert any("Dynamic-range int8: 8 weight tensor(s)" in note for note in int8_file.notes)
    assert "(188.41 KB)" in int8_file.render()  # the totals line sizes the stored bytes


@pytest.mark.parametrize("name", ["cover.tflite", "cover_int8.tflite"])
def test_cover_model_macs_and_shapes_equal_keras(name: str) -> None:
    keras = _keras()
    from convwise.formats.keras_file import keras_summary

    report = summarize_file(FIXTURES / name)
    keras_report = keras_summary(cover_model(keras))
    assert report.status == keras_report.status == "complete"
    assert report.totals["macs"] == keras_report.totals["macs"]
    mac_rows = [(r["kind"], r["output_shape"], r["macs"]) for r in report.rows() if r["macs"]]
    keras_rows = []
    for r in keras_report.rows():
        if r["kind"] == "separable":  # one Keras layer, two TFLite ops
            spec_out = r["output_shape"]
            mid = [spec_out[0], r["input_shape"][1], *spec_out[2:]]
            dw = r["input_shape"][1] * 9 * spec_out[2] * spec_out[3]
            keras_rows += [("depthwise", mid, dw), ("pointwise", spec_out, r["macs"] - dw)]
        elif r["macs"]:
            keras_rows.append((r["kind"], r["output_shape"], r["macs"]))
    assert mac_rows == keras_rows
    depthwise = next(r for r in report.rows() if r["kind"] == "depthwise")
    assert "depth multiplier 2" in depthwise["description"]
    assert report.rows()[0]["input_shape"] == [1, INPUT_HWC[2], INPUT_HWC[0], INPUT_HWC[1]]


def test_dynamic_batch_axis_takes_batch() -> None:
    one = summarize_file(FIXTURES / "seed_cnn.tflite")
    three = summarize_file(FIXTURES / "seed_cnn.tflite", batch=3)
    assert three.totals["macs"] == 3 * one.totals["macs"]
    assert three.totals["params"] == one.totals["params"]
    assert three.input_shapes == [[3, 1, 28, 28]]


def test_input_must_match_the_stored_shapes() -> None:
    assert summarize_file(FIXTURES / "seed_cnn.tflite", input_shapes=[(1, 28, 28)]).totals["macs"]
    with pytest.raises(ConfigError, match="fixed input shapes"):
        summarize_file(FIXTURES / "seed_cnn.tflite", input_shapes=[(1, 32, 32)])


@pytest.mark.parametrize("content", [b"", b"\x00" * 64, b"PK\x03\x04 a zip, not a flatbuffer"])
def test_invalid_files_are_one_line_errors(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.tflite"
    path.write_bytes(content)
    with pytest.raises(ConfigError, match=r"not a valid TFLite model.*bad\.tflite") as info:
        summarize_file(path)
    assert "\n" not in str(info.value)


def test_cli_json_of_an_int8_file() -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "convwise",
            "summary",
            str(FIXTURES / "seed_cnn_int8.tflite"),
            "--format",
            "csv",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    header, *rows = out.stdout.strip().splitlines()
    assert header.startswith("name,type,kind,calls,input_shape,output_shape,params")
    assert rows[-1].startswith("TOTAL,")
