"""ONNX files: every node costed like the PyTorch op it computes; shapes as onnxruntime produces them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from formats_helpers import ort_output_shape
from torch import nn

onnx = pytest.importorskip("onnx", reason="onnx (extra `export`) is not installed")
from onnx import helper  # noqa: E402

from convwise.core import ConfigError  # noqa: E402
from convwise.formats import read_model_file, summarize_file  # noqa: E402
from convwise.profile import load_schema, profile  # noqa: E402

W = np.zeros  # weights' values never matter to a count

_KEYS = ("params", "mults", "acc_adds", "bias_adds", "other_ops")


def _torch_counts(module: nn.Module, shape: tuple[int, ...]) -> dict[str, int]:
    """The PyTorch profiler's totals of the equivalent module (the oracle)."""
    t = profile(module.eval(), shape).totals
    return {k: t[k] for k in _KEYS}


def _counts(path: Path, **kw: Any) -> dict[str, int]:
    t = summarize_file(path, **kw).totals
    return {k: t[k] for k in _KEYS}


# SPEC §4, hand-derived: (Cin, H, W, Cout, kernel, stride) → params, mults, acc adds, bias adds
WORKED = [
    ((1, 5, 5), 1, (3, 3), (1, 1), 10, 81, 72, 9),
    ((3, 5, 5), 2, (3, 3), (1, 1), 56, 486, 468, 18),
    ((1, 34, 13), 128, (10, 4), (3, 2), 5_248, 230_400, 224_640, 5_760),
    ((128, 9, 5), 128, (3, 3), (1, 1), 147_584, 3_096_576, 3_093_888, 2_688),
]


@pytest.mark.parametrize(("chw", "cout", "k", "s", "params", "mults", "acc", "bias"), WORKED)
def test_conv_node_reproduces_spec_worked_examples(onnx_file: Any, chw, cout, k, s, params, mults, acc, bias):
    node = helper.make_node("Conv", ["x", "w", "b"], ["y"], kernel_shape=list(k), strides=list(s))
    path = onnx_file([node], {"x": ["N", *chw]}, {"w": W((cout, chw[0], *k), np.float32), "b": W(cout)})
    layer = read_model_file(path).layers[0]
    assert (layer.params, layer.mults, layer.acc_adds, layer.bias_adds) == (params, mults, acc, bias)
    assert layer.kind == "standard"


@pytest.mark.parametrize(
    ("auto_pad", "pads", "torch_pad"),
    [
        ("SAME_UPPER", None, (1, 2, 1, 2)),  # (left, right, top, bottom): the odd pixel after
        ("SAME_LOWER", None, (2, 1, 2, 1)),  # the odd pixel before
        ("VALID", None, (0, 0, 0, 0)),
        ("NOTSET", [0, 1, 2, 3], (1, 3, 0, 2)),  # ONNX pads: top, left, bottom, right
    ],
)
@pytest.mark.parametrize(("groups", "cout", "dilation"), [(1, 6, 1), (2, 6, 2), (4, 8, 1)])
def test_conv_padding_groups_dilation_match_torch_and_onnxruntime(
    onnx_file: Any, auto_pad: str, pads: list[int] | None, torch_pad: tuple[int, ...], groups, cout, dilation
) -> None:
    attrs: dict[str, Any] = {"kernel_shape": [4, 4], "strides": [2, 2], "group": groups, "auto_pad": auto_pad}
    if dilation != 1:
        attrs["dilations"] = [dilation, dilation]
        if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
            pytest.skip("torch reference pads are written for dilation 1")
    if pads is not None:
        attrs["pads"] = pads
    node = helper.make_node("Conv", ["x", "w", "b"], ["y"], **attrs)
    path = onnx_file(
        [node], {"x": ["N", 4, 11, 11]}, {"w": W((cout, 4 // groups, 4, 4), np.float32), "b": W(cout)}
    )
    record = read_model_file(path)
    layer = record.layers[0]
    assert layer.output_shape == ort_output_shape(path, {"x": (1, 4, 11, 11)})
    oracle = nn.Sequential(
        nn.ZeroPad2d(torch_pad), nn.Conv2d(4, cout, 4, 2, dilation=dilation, groups=groups)
    )
    assert _counts(path) == _torch_counts(oracle, (4, 11, 11))
    assert layer.kind == {1: "standard", 2: "grouped", 4: "depthwise"}[groups]  # groups = Cin: depthwise


def test_depthwise_with_multiplier_and_pointwise_are_classified(onnx_file: Any) -> None:
    nodes = [
        helper.make_node("Conv", ["x", "dw"], ["h"], kernel_shape=[3, 3], group=8, pads=[1, 1, 1, 1]),
        helper.make_node("Conv", ["h", "pw", "pb"], ["y"], kernel_shape=[1, 1]),
    ]
    weights = {
        "dw": W((16, 1, 3, 3), np.float32),
        "pw": W((32, 16, 1, 1), np.float32),
        "pb": W(32, np.float32),
    }
    path = onnx_file(nodes, {"x": [1, 8, 10, 10]}, weights)
    dw, pw = read_model_file(path).layers
    assert (dw.kind, dw.spec.depth_multiplier, pw.kind) == ("depthwise", 2, "pointwise")
    oracle = nn.Sequential(nn.Conv2d(8, 16, 3, padding=1, groups=8, bias=False), nn.Conv2d(16, 32, 1))
    assert _counts(path) == _torch_counts(oracle, (8, 10, 10))


def test_conv_transpose_gemm_matmul_match_torch(onnx_file: Any) -> None:
    nodes = [
        helper.make_node(
            "ConvTranspose",
            ["x", "tw", "tb"],
            ["t"],
            kernel_shape=[3, 3],
            strides=[2, 2],
            pads=[1, 1, 1, 1],
            output_padding=[1, 1],
        ),
        helper.make_node("Flatten", ["t"], ["f"]),
        helper.make_node("Gemm", ["f", "gw", "gb"], ["g"], transB=1),
        helper.make_node("MatMul", ["g", "mw"], ["y"]),
    ]
    weights = {
        "tw": W((4, 2, 3, 3), np.float32),
        "tb": W(2, np.float32),
        "gw": W((10, 2 * 12 * 12), np.float32),
        "gb": W(10, np.float32),
        "mw": W((10, 3), np.float32),
    }
    path = onnx_file(nodes, {"x": ["N", 4, 6, 6]}, weights)
    oracle = nn.Sequential(
        nn.ConvTranspose2d(4, 2, 3, 2, padding=1, output_padding=1), nn.Flatten(), nn.Linear(288, 10),
        nn.Linear(10, 3, bias=False),
    )  # fmt: skip
    assert _counts(path, batch=3) == {**_torch_counts_batch(oracle, (4, 6, 6), 3)}
    kinds = [layer.kind for layer in read_model_file(path).layers]
    assert kinds == ["transposed_conv", None, "linear", "linear"]


def _torch_counts_batch(module: nn.Module, shape: tuple[int, ...], batch: int) -> dict[str, int]:
    t = profile(module.eval(), shape, batch=batch).totals
    return {k: t[k] for k in _KEYS}


def test_norm_pool_activation_resize_concat_match_torch(onnx_file: Any) -> None:
    c = 6
    nodes = [
        helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], ["bn"]),
        helper.make_node("Relu", ["bn"], ["r"]),
        helper.make_node("MaxPool", ["r"], ["mp"], kernel_shape=[3, 3], strides=[2, 2]),
        helper.make_node("AveragePool", ["mp"], ["ap"], kernel_shape=[2, 2]),
        helper.make_node("Resize", ["ap", "", "sc"], ["up"], mode="linear"),
        helper.make_node("Concat", ["up", "up"], ["cat"], axis=1),
        helper.make_node("GlobalAveragePool", ["cat"], ["y"]),
    ]
    weights = {k: W(c, np.float32) for k in "sbmv"}
    weights["sc"] = np.array([1, 1, 2, 2], np.float32)
    path = onnx_file(nodes, {"x": [1, c, 15, 15]}, weights)

    class Oracle(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bn = nn.BatchNorm2d(c)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = nn.functional.avg_pool2d(nn.functional.max_pool2d(torch.relu(self.bn(x)), 3, 2), 2, 1)
            x = nn.functional.interpolate(x, scale_factor=2, mode="bilinear")
            return nn.functional.adaptive_avg_pool2d(torch.cat([x, x], 1), 1)

    report = summarize_file(path)
    assert _counts(path) == _torch_counts(Oracle(), (c, 15, 15))
    assert report.totals["buffers"] == 2 * c  # BatchNorm mean/variance: buffers, as in PyTorch
    assert report.with_keras().totals["non_trainable_params"] == 2 * c
    assert report.rows()[-1]["receptive_field_global"] is True
    assert [r["receptive_field"] for r in report.rows()[:3]] == [[1, 1], [1, 1], [3, 3]]


def test_unknown_and_custom_domain_ops_are_uncounted_and_status_partial(onnx_file: Any) -> None:
    nodes = [
        helper.make_node("Relu", ["x"], ["r"]),
        helper.make_node("Hardmax", ["r"], ["y"]),
    ]
    path = onnx_file(nodes, {"x": [1, 4]})
    report = summarize_file(path)
    assert report.status == "partial"
    assert report.totals["uncounted_ops"] == {"Hardmax": 1}
    assert "+?" in report.render()


def test_shared_initializer_counted_once(onnx_file: Any) -> None:
    nodes = [helper.make_node("MatMul", ["x", "w"], ["h"]), helper.make_node("MatMul", ["h", "w"], ["y"])]
    path = onnx_file(nodes, {"x": [1, 5]}, {"w": W((5, 5), np.float32)})
    report = summarize_file(path)
    assert report.totals["params"] == 25 and report.totals["shared_params"] == 25
    assert report.totals["macs"] == 50


def test_input_fills_symbolic_axes_and_batch_scales_ops_not_params(onnx_file: Any) -> None:
    node = helper.make_node("Conv", ["x", "w"], ["y"], kernel_shape=[3, 3], auto_pad="SAME_UPPER")
    path = onnx_file([node], {"x": ["N", 3, "H", "W"]}, {"w": W((8, 3, 3, 3), np.float32)})
    one = summarize_file(path, input_shapes=[(3, 16, 20)])
    four = summarize_file(path, input_shapes=[(3, 16, 20)], batch=4)
    assert one.rows()[0]["output_shape"] == [1, 8, 16, 20]
    assert four.input_shapes == [[4, 3, 16, 20]]
    assert four.totals["macs"] == 4 * one.totals["macs"] == 4 * 8 * 16 * 20 * 27
    assert four.totals["params"] == one.totals["params"] == 216
    with pytest.raises(ConfigError, match=r"symbolic axes .*--input"):
        summarize_file(path)


def test_json_follows_the_summary_schema(onnx_file: Any) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    node = helper.make_node("Conv", ["x", "w"], ["y"], kernel_shape=[3, 3])
    path = onnx_file([node], {"x": [1, 3, 8, 8]}, {"w": W((4, 3, 3, 3), np.float32)})
    payload = json.loads(summarize_file(path).to_json())
    jsonschema.validate(payload, load_schema())
    assert payload["ran_on"] == "file" and payload["layers"][0]["kind"] == "standard"


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"definitely not protobuf \xff\xfe", "not a valid ONNX model"),
        (b"", "not a valid ONNX model"),
    ],
)
def test_invalid_files_are_one_line_errors_naming_the_file(
    tmp_path: Path, content: bytes, match: str
) -> None:
    path = tmp_path / "broken.onnx"
    path.write_bytes(content)
    with pytest.raises(ConfigError, match=match) as info:
        read_model_file(path)
    assert "broken.onnx" in str(info.value) and "\n" not in str(info.value)


def test_unsupported_opset_is_an_error(onnx_file: Any) -> None:
    path = onnx_file([helper.make_node("Relu", ["x"], ["y"])], {"x": [1, 4]}, opset=5)
    with pytest.raises(ConfigError, match=r"opset is not supported.*opset=5"):
        read_model_file(path)


def test_fixed_batch_and_wrong_input_count_are_errors(onnx_file: Any) -> None:
    path = onnx_file([helper.make_node("Relu", ["x"], ["y"])], {"x": [2, 4]})
    with pytest.raises(ConfigError, match=r"fixes the batch .* at 2"):
        read_model_file(path, batch=1)
    assert read_model_file(path, batch=2).input_shapes == [[2, 4]]
    with pytest.raises(ConfigError, match="one `--input` per model input"):
        read_model_file(path, input_shapes=[(4,), (4,)], batch=2)
