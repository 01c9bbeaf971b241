"""The export check can fail: with fresh weights it uses weights whose output depends on the input,
and when the output still does not, the report says that the check proves nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from convwise.export import onnx_io, pipeline
from convwise.models.source import Source

pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")


def deep_net() -> nn.Module:
    """MobileNet's failure in small: 12 conv-BN-ReLU blocks at PyTorch's initial BatchNorm statistics
    shrink the activations until the output is the last layer's bias, whatever the input."""
    blocks: list[nn.Module] = []
    for i in range(12):
        blocks += [nn.Conv2d(3 if i == 0 else 8, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU()]
    return nn.Sequential(*blocks, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 4))


def _fresh(model: nn.Module) -> Source:
    return Source(model=model.eval(), name="deep_net", input_shape=(3, 12, 12))


def test_fresh_weights_as_built_prove_nothing() -> None:
    torch.manual_seed(0)
    model = deep_net().eval()
    x = torch.randn(16, 3, 12, 12)
    with torch.no_grad():
        y = model(x)
    assert float((y.amax(0) - y.amin(0)).max()) < 1e-4  # the problem the issue describes


def test_fresh_export_calibrates_batchnorm_so_the_check_can_fail(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = deep_net()
    report = pipeline.export_model(_fresh(model), tmp_path / "deep.onnx")
    assert report.ok and report.informative, report
    assert any("BatchNorm statistics set from the random inputs" in n for n in report.notes)
    assert not any("proves nothing" in n for n in report.notes)
    assert model[1].running_var.eq(1).all(), "the caller's model must not change"
    # the check can fail: the same file against another set of weights differs far beyond the bound
    other = deep_net()
    pipeline.calibrate_batchnorm(
        other, torch.randn(64, 3, 12, 12, generator=torch.Generator().manual_seed(0))
    )
    x = torch.randn(64, 3, 12, 12, generator=torch.Generator().manual_seed(0))
    tolerance = report.as_dict()["fp32_tolerance"]
    assert onnx_io.max_abs_diff(tmp_path / "deep.onnx", other, x) > 100 * tolerance


def test_an_output_that_ignores_the_input_is_reported_as_proving_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    torch.manual_seed(0)
    monkeypatch.setattr(pipeline, "calibrate_batchnorm", lambda model, inputs: 0)  # as before the fix
    report = pipeline.export_model(_fresh(deep_net()), tmp_path / "deep.onnx")
    assert report.ok and not report.informative
    assert report.as_dict()["informative"] is False
    assert any(
        n.startswith("the check proves nothing: PyTorch's outputs vary by at most") for n in report.notes
    )
