"""`convwise summary FILE`: the same columns and JSON as for a PyTorch model; bad files exit 2 in one line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from convwise.cli.main import main

onnx = pytest.importorskip("onnx", reason="onnx (extra `export`) is not installed")
from onnx import helper  # noqa: E402


class _Out:
    def __init__(self, returncode: int, stdout: str, stderr: str) -> None:
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Any:
    """`convwise ARGS` in this process: (exit status, stdout, stderr)."""

    def call(*args: str) -> _Out:
        code = main(list(args))
        out = capsys.readouterr()
        return _Out(code, out.out, out.err)

    return call


@pytest.fixture
def conv_file(onnx_file: Any) -> Path:
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("GlobalAveragePool", ["r"], ["p"]),
        helper.make_node("Flatten", ["p"], ["y"]),
    ]
    weights = {"w": np.zeros((8, 3, 3, 3)), "b": np.zeros(8)}
    return onnx_file(nodes, {"x": ["batch", 3, 16, 16]}, weights)


def test_table_has_the_pytorch_summary_columns(conv_file: Path, run: Any) -> None:
    table = run("summary", str(conv_file))
    assert table.returncode == 0, table.stderr
    header = next(line for line in table.stdout.splitlines() if "Layer (type)" in line)
    torch_table = run("summary", "fashion_separable_cnn")
    torch_header = next(line for line in torch_table.stdout.splitlines() if "Layer (type)" in line)
    assert header.split() == torch_header.split()
    assert "counted from the model's graph" in table.stdout


def test_json_rows_and_totals(conv_file: Path, run: Any) -> None:
    out = run("summary", str(conv_file), "--json", "--batch", "2")
    assert out.returncode == 0, out.stderr
    payload = json.loads(out.stdout)
    assert payload["target"] == str(conv_file)
    assert payload["input_shapes"] == [[2, 3, 16, 16]]
    conv = payload["layers"][0]
    assert conv["kind"] == "standard" and conv["params"] == 8 * 27 + 8
    assert payload["totals"]["macs"] == 2 * 8 * 16 * 16 * 27


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("noise.onnx", b"\x00\x01garbage", "not a valid ONNX model"),
        ("missing.onnx", None, "does not exist"),
    ],
)
def test_bad_files_exit_2_with_one_line(
    tmp_path: Path, name: str, content: bytes | None, message: str, run: Any
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    out = run("summary", str(path))
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and name in lines[0]


def test_other_commands_say_a_model_file_is_read_by_summary(conv_file: Path, run: Any) -> None:
    out = run("whatif", str(conv_file), "--to", "separable")
    assert out.returncode == 2
    assert "read by `convwise summary`" in out.stderr and len(out.stderr.strip().splitlines()) == 1
