"""Oracles shared by the model-file tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


def ort_output_shape(path: Path, feeds: dict[str, tuple[int, ...]]) -> list[int]:
    """The shape onnxruntime actually produces for the first output (an oracle independent of convwise)."""
    ort = pytest.importorskip("onnxruntime")
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    out = sess.run(None, {k: np.random.rand(*v).astype(np.float32) for k, v in feeds.items()})
    return list(out[0].shape)
