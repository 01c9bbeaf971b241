"""The same model in PyTorch and as an ONNX file (convwise's own exporter): the same MACs, and every other
difference named by a convention the file itself records (BatchNorm folded into the convs)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

pytest.importorskip("onnx", reason="onnx (extra `export`) is not installed")
pytest.importorskip("onnxscript", reason="onnxscript (extra `export`) is not installed")

from convwise.export import onnx_io
from convwise.formats import summarize_file
from convwise.models import build
from convwise.models.registry import get_entry
from convwise.profile import profile

ZOO = [
    ("mobilenet_v1", {"width_multiplier": 0.5}),
    ("fashion_separable_cnn", {}),
    ("ds_cnn", {}),
]


def _trained_looking(model: nn.Module) -> nn.Module:
    """Random BatchNorm statistics and affine terms, so the exporter's folded biases are not all zero."""
    g = torch.Generator().manual_seed(0)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            with torch.no_grad():
                m.running_mean.copy_(torch.randn(m.num_features, generator=g))
                m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.weight.copy_(torch.randn(m.num_features, generator=g))
                m.bias.copy_(torch.randn(m.num_features, generator=g))
    return model.eval()


@pytest.fixture(scope="module", params=ZOO, ids=[name for name, _ in ZOO])
def exported(
    request: Any, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Any, Any, list[nn.Module], Path]:
    name, config = request.param
    model = _trained_looking(build(name, **config))
    shape = get_entry(name).shape_for(**config)
    path = onnx_io.export_onnx(model, tmp_path_factory.mktemp("onnx") / f"{name}.onnx", shape)
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    return profile(model, shape), summarize_file(Path(path)), bns, Path(path)


def test_macs_are_equal(exported: tuple[Any, Any, list[nn.Module], Path]) -> None:
    torch_report, onnx_report, *_ = exported
    assert onnx_report.status == torch_report.status == "complete"
    assert onnx_report.totals["macs"] == torch_report.totals["macs"]
    assert onnx_report.totals["mults"] == torch_report.totals["mults"]
    # the MAC layers, one by one, in order
    conv_macs = [r["macs"] for r in torch_report.rows(depth=99) if r["macs"]]
    assert [r["macs"] for r in onnx_report.rows() if r["macs"]] == conv_macs


def test_params_differ_exactly_by_the_folded_batchnorms(
    exported: tuple[Any, Any, list[nn.Module], Path],
) -> None:
    """Folding BN (γ, β, mean, var of C channels) into a conv without bias: C bias parameters remain."""
    torch_report, onnx_report, bns, _ = exported
    c = sum(m.num_features for m in bns)
    t, o = torch_report.totals, onnx_report.totals
    assert o["params"] == t["params"] - 2 * c + c
    # BatchNorm's 2 other ops per element become one bias addition per element of the conv's output
    bn_elements = sum(r["other_ops"] for r in torch_report.rows(depth=99) if r["type"] == "BatchNorm2d") // 2
    assert o["bias_adds"] == t["bias_adds"] + bn_elements
    assert o["other_ops"] == t["other_ops"] - 2 * bn_elements
    assert o["flops"] == t["flops"] + bn_elements
    folded = any("FuseBatchNormIntoConv" in note for note in onnx_report.notes)
    assert folded == bool(bns)  # the report names the convention whenever it applies


def test_receptive_field_of_the_output_is_the_same(exported: tuple[Any, Any, list[nn.Module], Path]) -> None:
    torch_report, onnx_report, *_ = exported
    fields = [r["receptive_field"] for r in onnx_report.rows() if r["macs"]]
    assert fields == [r["receptive_field"] for r in torch_report.rows(depth=99) if r["macs"]]


def test_dynamic_int8_onnx_file_has_the_same_macs_and_int8_weight_bytes(
    exported: tuple[Any, Any, list[nn.Module], Path], tmp_path: Path
) -> None:
    """onnxruntime's dynamic quantisation: ConvInteger / MatMulInteger on int8 weights (1 byte each)."""
    torch_report, fp32, _, src = exported
    name = fp32.model_name.removesuffix(".onnx")
    config = dict(ZOO)[name]
    int8 = summarize_file(onnx_io.quantize(src, tmp_path / "int8.onnx", "dynamic"))
    assert int8.totals["macs"] == torch_report.totals["macs"]
    assert int8.totals["params"] == fp32.totals["params"]
    # every conv / linear weight (PyTorch's own tensors) is stored as int8; the rest stays float32
    model = build(name, **config)
    weights = sum(m.weight.numel() for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear)))
    int8_weights = sum(r["params"] for r in int8.rows() if r["type"] in ("ConvInteger", "MatMulInteger"))
    assert int8_weights == weights
    assert int8.totals["weight_bytes"] == weights + 4 * (int8.totals["params"] - weights)
    # quantising activations at run time has no formula: listed, never guessed
    assert int8.status == "partial" and "DynamicQuantizeLinear" in int8.totals["uncounted_ops"]
