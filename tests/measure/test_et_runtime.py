"""The ExecuTorch/XNNPACK backend: optional (the error names the extra), outputs checked against torch."""

from __future__ import annotations

import sys

import pytest
import torch
from torch import nn

from convwise.cli.main import main
from convwise.core.errors import ConfigError, MissingDependencyError
from convwise.measure import et_runtime
from convwise.measure.latency import run_benchmark


@pytest.fixture
def no_executorch(monkeypatch: pytest.MonkeyPatch) -> None:
    # `from executorch.extension.pybindings import portable_lib` raises ImportError
    monkeypatch.setitem(sys.modules, "executorch", None)


def test_missing_executorch_names_the_extra_before_anything_is_measured(no_executorch: None) -> None:
    with pytest.raises(MissingDependencyError, match=r'pip install "convwise\[executorch\]"'):
        et_runtime.require()
    net = nn.Sequential(nn.Flatten(), nn.Linear(4, 2))
    with pytest.raises(MissingDependencyError, match="`executorch`"):
        run_benchmark(net, (1, 2, 2), backends=["eager", "et-fp32"], roofline=False, warmup=0, repeats=1)


def test_cli_without_executorch_is_one_line_exit_2(
    no_executorch: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["bench", "kws_cnn", "--backends", "et-fp32", "--no-roofline", "--repeats", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and 'pip install "convwise[executorch]"' in err


def test_non_float32_model_is_refused_before_importing(no_executorch: None) -> None:
    with pytest.raises(ConfigError, match=r"float32.*dtype='float64'"):
        et_runtime.lower_xnnpack(nn.Linear(2, 2).double(), (1, 2))


def test_lowered_program_matches_torch_and_runs_on_xnnpack() -> None:
    pytest.importorskip("executorch")
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1),
        nn.BatchNorm2d(16),
        nn.ReLU(),
        nn.Conv2d(16, 16, 3, stride=2, groups=16),  # depthwise
        nn.ReLU6(),
        nn.Conv2d(16, 8, 1),
        nn.Flatten(),
    ).eval()
    with torch.no_grad():  # BatchNorm statistics that are not the identity
        net[1].running_mean.uniform_(-0.5, 0.5)
        net[1].running_var.uniform_(0.5, 2.0)
    model = et_runtime.lower_xnnpack(net, (2, 3, 12, 12))
    assert (model.precision, model.threads) == ("fp32", 1)
    assert model.delegated == model.total > 0  # every operator runs in XNNPACK
    x = torch.randn(2, 3, 12, 12)
    with torch.no_grad():
        ref = net(x)
    err = float((model(x) - ref).abs().max() / ref.abs().max())
    assert err < 1e-5  # fp32: a bf16/fp16 path would be ~1e-3 off


def test_bench_row_is_fp32_and_counts_for_the_goals() -> None:
    pytest.importorskip("executorch")
    pytest.importorskip("onnxruntime")
    net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten()).eval()
    result = run_benchmark(net, (1, 8, 8), backends=["et-fp32", "ort-fp32"], roofline=False, repeats=2)
    row = result.timing("et-fp32", 1, result.timings[0].threads)
    assert row is not None and row.precision == "fp32" and len(row.samples) == 2
    goals = result.goals(1, row.threads)
    assert goals["best_convwise"] == "et-fp32"  # the only convwise fp32 path here
