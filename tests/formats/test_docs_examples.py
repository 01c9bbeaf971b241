"""docs/summary.md's model-file examples show the real, current output (elided rows marked with …)."""

from __future__ import annotations

import os
import re
import shlex
import shutil
from pathlib import Path

import pytest

from convwise.cli.main import main
from keras_seed_model import seed_fashion_cnn

os.environ.setdefault("KERAS_BACKEND", "torch")
ROOT = Path(__file__).resolve().parents[2]
SECTION = ROOT / "docs" / "summary.md"
BLOCK = re.compile(r"```console\n(.*?)\n```", re.S)


def _blocks() -> list[str]:
    text = SECTION.read_text()
    start = text.index("## Model files")
    end = text.index("\n## ", start + 1)
    return BLOCK.findall(text[start:end])


def _run(command: str, cwd: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> str:
    argv = shlex.split(command.split("#")[0])
    assert argv[0] == "convwise"
    monkeypatch.chdir(cwd)
    code = main(argv[1:])
    out = capsys.readouterr()
    assert code == 0, out.err
    return out.out


@pytest.mark.parametrize("block", _blocks(), ids=lambda b: b.splitlines()[0][:40])
def test_example_is_the_real_output(
    block: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("onnx")
    pytest.importorskip("tflite")
    keras = pytest.importorskip("keras")
    keras.backend.clear_session()  # layer names as in a fresh process (conv2d, not conv2d_7)
    seed_fashion_cnn(keras).save(tmp_path / "seed_cnn.keras")
    shutil.copytree(ROOT / "tests", tmp_path / "tests", ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    lines = block.splitlines()
    commands = [i for i, line in enumerate(lines) if line.startswith("$ ")]
    for i in commands[:-1]:
        _run(lines[i][2:], tmp_path, capsys, monkeypatch)
    real = [
        line.rstrip() for line in _run(lines[commands[-1]][2:], tmp_path, capsys, monkeypatch).splitlines()
    ]
    shown = [line.rstrip() for line in lines[commands[-1] + 1 :] if not line.strip().startswith("… (")]
    it = iter(real)
    missing = [line for line in shown if not any(line == r for r in it)]
    assert not missing, f"docs/summary.md is stale; first line not in the real output: {missing[0]!r}"
