"""The OpenVINO backend: optional (the error names the extra), fp32 forced, outputs checked against torch."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from convwise.cli.main import main
from convwise.core.errors import MissingDependencyError
from convwise.measure import ov_runtime
from convwise.measure.latency import run_benchmark


@pytest.fixture
def no_openvino(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "openvino", None)  # `import openvino` raises ImportError


def test_missing_openvino_names_the_extra_before_anything_is_measured(no_openvino: None) -> None:
    with pytest.raises(MissingDependencyError, match=r'pip install "convwise\[openvino\]"'):
        ov_runtime.require()
    net = nn.Sequential(nn.Flatten(), nn.Linear(4, 2))
    with pytest.raises(MissingDependencyError, match="`openvino`"):
        run_benchmark(net, (1, 2, 2), backends=["eager", "ov-fp32"], roofline=False, warmup=0, repeats=1)


def test_cli_without_openvino_is_one_line_exit_2(
    no_openvino: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["bench", "kws_cnn", "--backends", "ov-fp32", "--no-roofline", "--repeats", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and 'pip install "convwise[openvino]"' in err


def _cpu_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    line = next((ln for ln in text.splitlines() if ln.startswith("flags")), "")
    return set(line.partition(":")[2].split())


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_compiled_model_matches_torch_at_the_precision_it_reports(precision: str, tmp_path: Path) -> None:
    pytest.importorskip("openvino")
    pytest.importorskip("onnxruntime")
    if precision == "bf16" and not {"amx_bf16", "avx512_bf16"} & _cpu_flags():
        pytest.skip("this CPU has no bf16 instructions")
    from convwise.export import onnx_io

    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 16, 3), nn.ReLU(), nn.Conv2d(16, 8, 1), nn.Flatten()).eval()
    path = onnx_io.export_onnx(net, tmp_path / "net.onnx", (3, 12, 12))
    model = ov_runtime.compile_onnx(path, (2, 3, 12, 12), precision=precision)
    assert model.precision == precision and model.threads == 1
    x = torch.randn(2, 3, 12, 12)
    with torch.no_grad():
        ref = net(x).numpy()
    err = float(np.abs(model(x.numpy()) - ref).max() / np.abs(ref).max())
    if precision == "fp32":
        assert err < 1e-5  # fp32 really: bf16 (8 mantissa bits) would be ~1e-2 off
    else:
        assert 1e-4 < err < 5e-2  # bf16 really: not silently fp32


def test_every_row_says_its_precision() -> None:
    net = nn.Sequential(nn.Flatten(), nn.Linear(4, 2))
    result = run_benchmark(net, (1, 2, 2), backends=["eager"], roofline=False, warmup=0, repeats=1)
    assert [t.as_dict()["precision"] for t in result.timings] == ["fp32"]
    wide = run_benchmark(net.double(), (1, 2, 2), backends=["eager"], roofline=False, warmup=0, repeats=1)
    assert wide.timings[0].precision == "float64"
    assert "best_convwise" not in wide.goals(1, wide.timings[0].threads)  # not an fp32 path
