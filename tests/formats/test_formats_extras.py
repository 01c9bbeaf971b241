"""Reader packages are optional: imported only when a file needs them, else an error naming the extra."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from convwise.core import MissingDependencyError
from convwise.formats import summarize_file

FIXTURES = Path(__file__).parent.parent / "fixtures" / "tflite"


def test_importing_convwise_formats_imports_no_reader_package() -> None:
    code = "import sys, convwise.formats; print([m for m in ('keras', 'onnx', 'tflite') if m in sys.modules])"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True
    )
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("package", "suffix", "extra"),
    [("onnx", ".onnx", "export"), ("keras", ".keras", "keras"), ("tflite", ".tflite", "tflite-reader")],
)
def test_missing_reader_names_its_extra(
    package: str, suffix: str, extra: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / f"model{suffix}"
    path.write_bytes((FIXTURES / "cover.tflite").read_bytes())
    monkeypatch.setitem(sys.modules, package, None)  # `import package` now raises ImportError
    with pytest.raises(MissingDependencyError, match=rf'pip install "convwise\[{extra}\]"'):
        summarize_file(path)
