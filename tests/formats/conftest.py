"""Helpers for the model-file tests: small ONNX graphs written with `onnx.helper`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest


@pytest.fixture
def onnx_file(tmp_path: Path) -> Any:
    """`make(nodes, inputs={name: dims}, weights={name: array}, opset=18)` → path of a saved .onnx file."""
    onnx = pytest.importorskip("onnx", reason="onnx (extra `export`) is not installed")
    from onnx import TensorProto, helper, numpy_helper

    def make(
        nodes: list[Any],
        inputs: dict[str, list[Any]],
        weights: dict[str, np.ndarray] | None = None,
        *,
        outputs: list[str] | None = None,
        opset: int = 18,
        name: str = "model.onnx",
    ) -> Path:
        ins = [helper.make_tensor_value_info(n, TensorProto.FLOAT, d) for n, d in inputs.items()]
        outs = [
            helper.make_tensor_value_info(o, TensorProto.FLOAT, None)
            for o in outputs or [nodes[-1].output[0]]
        ]
        inits = [
            numpy_helper.from_array(np.asarray(a, dtype=np.float32), n) for n, a in (weights or {}).items()
        ]
        graph = helper.make_graph(nodes, "g", ins, outs, inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
        model.ir_version = 8
        path = tmp_path / name
        onnx.save(model, str(path))
        return path

    return make
