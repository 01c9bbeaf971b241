"""ONNX export: onnxruntime agrees with PyTorch, dynamic batch axis, int8 files, one-line errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")

from convwise.core.errors import ConfigError
from convwise.export import onnx_io


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[nn.Module, Path]:
    from convwise.models import build

    torch.manual_seed(0)
    model = build("fashion_separable_cnn").eval()
    path = tmp_path_factory.mktemp("onnx") / "seed.onnx"
    onnx_io.export_onnx(model, path, (1, 28, 28))
    return model, path


@pytest.mark.parametrize("batch", [1, 3, 17])
def test_onnxruntime_agrees_with_pytorch_at_any_batch(exported: tuple[nn.Module, Path], batch: int) -> None:
    model, path = exported
    x = torch.randn(batch, 1, 28, 28)
    with torch.no_grad():
        ref = model(x).numpy()
    got = onnx_io.run(onnx_io.session(path), x)
    assert got.shape == ref.shape
    np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-5)


def test_graph_has_named_dynamic_batch_axis(exported: tuple[nn.Module, Path]) -> None:
    sess = onnx_io.session(exported[1])
    (inp,) = sess.get_inputs()
    (out,) = sess.get_outputs()
    assert inp.name == "input" and out.name == "logits"
    assert isinstance(inp.shape[0], str) and inp.shape[1:] == [1, 28, 28]


def test_bn_model_in_wrappers_exports(tmp_path: Path, bn_net: nn.Module) -> None:
    path = onnx_io.export_onnx(bn_net, tmp_path / "bn.onnx", (1, 28, 28))
    x = torch.randn(5, 1, 28, 28)
    assert onnx_io.max_abs_diff(path, bn_net, x) < 1e-4


@pytest.mark.parametrize("mode", ["dynamic", "static"])
def test_int8_files_are_smaller_and_close(
    exported: tuple[nn.Module, Path], tmp_path: Path, mode: str
) -> None:
    model, path = exported
    calib = torch.randn(32, 1, 28, 28) if mode == "static" else None
    q = onnx_io.quantize(path, tmp_path / f"q-{mode}.onnx", mode, calibration=calib)
    assert q.stat().st_size < 0.4 * path.stat().st_size  # int8 weights: about a quarter, plus scales
    x = torch.randn(8, 1, 28, 28)
    with torch.no_grad():
        ref = model(x).numpy()
    got = onnx_io.run(onnx_io.session(q), x)
    assert got.shape == ref.shape
    # int8 noise is bounded relative to the logits' range (accuracy is tested on real data elsewhere)
    assert np.abs(got - ref).max() < 0.2 * np.abs(ref).max() + 1e-3
    assert not list(tmp_path.glob("*.preprocessed.onnx"))


def test_unknown_quantize_mode(exported: tuple[nn.Module, Path], tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError, match=r"^`quantize` must be one of dynamic, static\. Received: quantize='int4'\.$"
    ):
        onnx_io.quantize(exported[1], tmp_path / "x.onnx", "int4")


def test_static_without_calibration(exported: tuple[nn.Module, Path], tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="Static quantisation needs `calibration` images"):
        onnx_io.quantize(exported[1], tmp_path / "x.onnx", "static")


@torch.library.custom_op("convwise_test::mystery", mutates_args=())
def _mystery(x: torch.Tensor) -> torch.Tensor:
    return x * 2


@_mystery.register_fake
def _(x: torch.Tensor) -> torch.Tensor:
    return torch.empty_like(x)


class _Mystery(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _mystery(x)


def test_op_the_exporter_cannot_handle_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        onnx_io.export_onnx(_Mystery(), tmp_path / "bad.onnx", (1, 4, 4))
    message = str(info.value)
    assert "\n" not in message
    assert message == (
        "The model cannot be exported to ONNX: operator convwise_test.mystery is not supported by the "
        "ONNX exporter. Received: model='_Mystery'."
    )


def _int8_weights(path: Path) -> list[np.ndarray]:
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(path)).graph
    return [numpy_helper.to_array(t) for t in graph.initializer if t.data_type == onnx.TensorProto.INT8]


@pytest.mark.parametrize("mode", ["dynamic", "static"])
@pytest.mark.parametrize("saturates", [True, False])
def test_cpus_whose_int8_kernels_saturate_get_7_bit_weights(
    exported: tuple[nn.Module, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    mode: str,
    saturates: bool,
) -> None:
    # The quantised file itself is the oracle: symmetric int8 weights span [-127, 127] in 8 bits and
    # [-64, 64] in 7 (onnxruntime's reduce_range), whatever CPU runs this test.
    monkeypatch.setattr(onnx_io, "int8_saturates", lambda: saturates)
    calib = torch.randn(32, 1, 28, 28) if mode == "static" else None
    q = onnx_io.quantize(exported[1], tmp_path / "q.onnx", mode, calibration=calib)
    weights = _int8_weights(q)
    assert weights
    peak = max(int(np.abs(w.astype(np.int32)).max()) for w in weights)
    assert (peak <= 64) if saturates else (peak == 127)


def test_the_export_report_says_when_weights_were_reduced_to_7_bits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from convwise.export import pipeline
    from convwise.models.source import load_source

    for saturates in (True, False):
        monkeypatch.setattr(pipeline, "int8_saturates", lambda s=saturates: s)
        report = pipeline.export_model(
            load_source("kws_cnn"), tmp_path / f"{saturates}.onnx", quantize="dynamic"
        )
        assert any("7 bits (reduce_range)" in n for n in report.notes) is saturates
