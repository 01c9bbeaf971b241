"""`convwise summary`: zoo, user file and functional-only targets; formats; one-line errors."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import jsonschema
import pytest
import torch

from convwise.cli.main import main
from convwise.profile import load_schema

USER_FILE = """
import torch
from torch import nn
import torch.nn.functional as F

INPUT_SHAPE = (3, 32, 32)


class TinyNet(nn.Module):
    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU())
        self.dw = nn.Conv2d(16, 16, 3, padding=1, groups=16, bias=False)
        self.pw = nn.Conv2d(16, 32, 1)
        self.head = nn.Linear(32, num_classes)

    def forward(self, x):
        x = self.pw(self.dw(self.stem(x)))
        return self.head(F.adaptive_avg_pool2d(x, 1).flatten(1))


class Functional(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.randn(8, 3, 3, 3))
        self.fc = nn.Parameter(torch.randn(4, 8))

    def forward(self, x):
        x = F.relu(F.conv2d(x, self.w, padding=1))
        return F.linear(x.mean((2, 3)), self.fc)


class TwoInputs(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.image = nn.Conv2d(3, 4, 3)
        self.meta = nn.Linear(5, 4)

    def forward(self, x, m):
        return self.image(x).mean((2, 3)) + self.meta(m)


def build(num_classes: int = 10):
    return TinyNet(num_classes)


def two_inputs():
    return TwoInputs()


def functional():
    return Functional()


def broken():
    raise RuntimeError("no weights here")


def not_a_module():
    return 42
"""


@pytest.fixture
def user_file(tmp_path: Path) -> Path:
    path = tmp_path / "mynet.py"
    path.write_text(textwrap.dedent(USER_FILE))
    return path


def run_json(capsys, *argv: str) -> dict:
    assert main(["summary", *argv, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_zoo_mobilenet_json_validates(capsys) -> None:
    payload = run_json(capsys, "mobilenet_v1", "--alpha", "0.25", "--resolution", "128")
    jsonschema.validate(payload, load_schema())
    assert payload["target"] == "mobilenet_v1"
    assert payload["input_shapes"] == [[1, 3, 128, 128]]
    from convwise.models import build

    model = build("mobilenet_v1", width_multiplier=0.25, resolution=128)
    assert payload["totals"]["params"] == sum(p.numel() for p in model.parameters())
    assert payload["status"] == "complete" and payload["ran_on"] == "meta"


def test_user_file_table_and_formats(capsys, user_file: Path) -> None:
    target = f"{user_file}:build"
    assert main(["summary", target]) == 0
    out = capsys.readouterr().out
    assert 'Model: "TinyNet"' in out and "dw (Conv2d)" in out and "Total params: 1,482" in out
    payload = run_json(capsys, target, "--batch", "2", "--keras", "--depth", "1")
    assert payload["batch"] == 2 and payload["keras_view"] is True
    # 3·16·9 + 2·16 + 16·9 + (16·32 + 32) + (32·10 + 10) = 1,482, + BN moving mean/variance 2·16
    assert payload["totals"]["params"] == 1482 + 32
    assert main(["summary", target, "--format", "csv", "--columns", "name,macs"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "name,macs" and lines[-1].startswith("TOTAL,")
    assert main(["summary", target, "--format", "markdown"]) == 0
    assert capsys.readouterr().out.startswith("| Layer (type) |")


def test_functional_only_model_agrees_with_flop_counter(capsys, user_file: Path) -> None:
    from torch.utils.flop_counter import FlopCounterMode

    payload = run_json(capsys, f"{user_file}:functional", "--input", "3x10x10")
    assert [r["name"] for r in payload["layers"]] == ["(top level)"]
    import importlib.util

    spec = importlib.util.spec_from_file_location("mynet_oracle", user_file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        module.functional()(torch.randn(1, 3, 10, 10))
    assert 2 * payload["totals"]["macs"] == counter.get_total_flops()
    assert payload["totals"]["params"] == 8 * 27 + 32


def test_output_file(tmp_path: Path, capsys, user_file: Path) -> None:
    out = tmp_path / "summary.md"
    assert main(["summary", f"{user_file}:build", "--format", "markdown", "-o", str(out)]) == 0
    assert out.read_text().startswith("| Layer (type) |")


@pytest.mark.parametrize(
    ("suffix", "argv", "pattern"),
    [
        ("missing.py:build", [], r"The target file does not exist\..*missing\.py"),
        ("{file}:nope", [], r"has no attribute `nope`"),
        ("{file}:broken", [], r"The factory `.*:broken` raised RuntimeError: no weights here"),
        ("{file}:not_a_module", [], r"must return a torch\.nn\.Module; it returned an int: 42"),
        (
            "{file}:build",
            ["--input", "4x32x32"],
            r"^convwise: error: `.*mynet\.py:build`: "
            r"The forward failed in module `stem\.0` \(Conv2d\) with RuntimeError: .*"
            r"Received: input_shapes=\[\[1, 4, 32, 32\]\], "
            r"module_input_shapes=\[\[1, 4, 32, 32\]\]\.$",
        ),
        ("{file}:build", ["--input", "3x0x32"], r"`--input` must be CxHxW: three positive integers"),
        ("{file}:build", ["--columns", "bogus"], r"`columns` must be a comma-separated list"),
        ("{file}:build", ["--batch", "0"], r"`--batch` must be a positive integer"),
    ],
    ids=[
        "file-missing",
        "attribute-missing",
        "factory-raises",
        "not-a-module",
        "bad-shape",
        "short",
        "cols",
        "batch",
    ],
)
def test_errors_are_one_line(capsys, user_file: Path, suffix: str, argv: list[str], pattern: str) -> None:
    target = suffix.format(file=user_file) if "{file}" in suffix else str(user_file.parent / suffix)
    assert main(["summary", target, *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert __import__("re").search(pattern, err.strip()), err


def test_several_inputs_and_channels_last(capsys, user_file: Path) -> None:
    payload = run_json(
        capsys, f"{user_file}:two_inputs", "--input", "8x6x3", "--input", "5", "--channels-last"
    )
    assert payload["input_shapes"] == [[1, 3, 8, 6], [1, 5]]
    # conv: 4·6·4·27 mults; linear: 5·4
    assert payload["totals"]["macs"] == 4 * 6 * 4 * 27 + 5 * 4


def test_explain_one_layer(capsys, user_file: Path) -> None:
    assert main(["summary", f"{user_file}:build", "--explain", "dw"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("dw (Conv2d): 1 call(s), first input (1, 16, 32, 32)")
    assert "multiplications = Cout·Ho·Wo·(Cin/g)·kh·kw = 16·32·32·(16/16)·3·3 = 147,456" in out
