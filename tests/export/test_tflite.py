"""TFLite export (extra `tflite`): LiteRT agrees with PyTorch; without the extra, a one-line message."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from convwise.core.errors import MissingDependencyError
from convwise.export import tflite

_skip_without_extra = pytest.mark.skipif(
    not tflite.available(),
    reason='the `tflite` extra is not installed (pip install -e ".[tflite,dev]"; .ci/run has a step for it)',
)


def needs_extra(test: Any) -> Any:
    """Marks a test `tflite` (required in .ci/run's TFLite step) and skips it without the extra."""
    return pytest.mark.tflite(_skip_without_extra(test))


@pytest.mark.skipif(tflite.available(), reason="the `tflite` extra is installed")
def test_without_extra_says_which_extra(tmp_path: Path, bn_net: nn.Module) -> None:
    with pytest.raises(MissingDependencyError) as info:
        tflite.export_tflite(bn_net, tmp_path / "m.tflite", (1, 28, 28))
    assert str(info.value) == (
        "TFLite export needs the optional package `litert-torch`, which is not installed. "
        'Install it with: pip install "convwise[tflite]"'
    )


@needs_extra
def test_fp32_tflite_agrees_with_pytorch(tmp_path: Path, bn_net: nn.Module) -> None:
    path = tflite.export_tflite(bn_net, tmp_path / "m.tflite", (1, 28, 28))
    x = torch.randn(5, 1, 28, 28)
    with torch.no_grad():
        ref = bn_net(x).numpy()
    got = tflite.run(tflite.interpreter(path), x)
    np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-5)


@needs_extra
def test_dynamic_range_int8_tflite(tmp_path: Path) -> None:
    from convwise.models import build

    torch.manual_seed(0)
    model = build("fashion_separable_cnn").eval()
    fp32 = tflite.export_tflite(model, tmp_path / "f.tflite", (1, 28, 28))
    q = tflite.export_tflite(model, tmp_path / "q.tflite", (1, 28, 28), quantize="dynamic")
    assert q.stat().st_size < 0.4 * fp32.stat().st_size
    x = torch.randn(4, 1, 28, 28)
    with torch.no_grad():
        ref = model(x).numpy()
    got = tflite.run(tflite.interpreter(q), x)
    assert np.abs(got - ref).max() < 0.2 * np.abs(ref).max() + 1e-3
