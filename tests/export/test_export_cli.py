"""Checkpoint / TARGET resolution and the `export` / `bench` commands: bad inputs give one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from convwise.cli.main import main
from convwise.core.errors import ConfigError
from convwise.export.pipeline import format_for
from convwise.models.source import load_source


def _save(path: Path, name: str, model: torch.nn.Module) -> Path:
    from convwise.train.checkpoint import save_checkpoint

    return save_checkpoint(
        path,
        model,
        model_name=name,
        model_config={},
        normalization={"mean": 0.5, "std": 0.25, "scale": 1 / 255},
        dataset="fashion-mnist",
        epoch=0,
        metrics={},
    )


def _one_line_error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    return err


def test_target_resolves_with_zoo_input_shape() -> None:
    src = load_source("kws_cnn")
    assert src.input_shape == (1, 34, 13)
    assert src.checkpoint is None and not src.model.training


def test_checkpoint_resolves(tmp_path: Path) -> None:
    from convwise.models import build

    model = build("fashion_separable_cnn")
    src = load_source(str(_save(tmp_path / "a.pt", "fashion_separable_cnn", model)))
    assert src.name == "fashion_separable_cnn" and src.input_shape == (1, 28, 28)
    assert src.info["normalization"]["mean"] == 0.5
    for key, value in model.state_dict().items():
        assert torch.equal(src.model.state_dict()[key], value)


def test_missing_checkpoint(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.pt")
    with pytest.raises(
        ConfigError, match=r"^Checkpoint `path` does not exist\. Received: path='.*nope\.pt'\.$"
    ):
        load_source(missing)


def test_checkpoint_of_another_model_is_one_line(tmp_path: Path) -> None:
    from convwise.models import build

    path = _save(tmp_path / "kws.pt", "fashion_separable_cnn", build("kws_cnn"))  # weights of another model
    with pytest.raises(ConfigError) as info:
        load_source(str(path))
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("Checkpoint `path` does not match its model 'fashion_separable_cnn'")


def test_file_that_is_not_a_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "weights.pth"
    torch.save({"conv.weight": torch.zeros(1)}, path)
    with pytest.raises(ConfigError, match=r"is not a convwise-checkpoint/1 file"):
        load_source(str(path))


def test_unknown_target_is_one_line() -> None:
    with pytest.raises(
        ConfigError, match=r"^Unknown model\. Known models: .*Received: model='no_such_net'\.$"
    ):
        load_source("no_such_net")


@pytest.mark.parametrize(
    ("output", "fmt", "message"),
    [
        (
            "m.pb",
            None,
            r"^Cannot tell the export format from the suffix of `output`; use \.onnx or \.tflite\.",
        ),
        ("m.onnx", "coreml", r"^`format` must be one of onnx, tflite\. Received: format='coreml'\.$"),
        ("m.tflite", "onnx", r"^The output suffix does not match `format`\."),
    ],
)
def test_format_errors(output: str, fmt: str | None, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        format_for(output, fmt)


def test_cli_unknown_format(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    err = _one_line_error(capsys, ["export", "kws_cnn", "-o", str(tmp_path / "m.xyz")])
    assert "Cannot tell the export format" in err


def test_cli_missing_checkpoint(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    err = _one_line_error(capsys, ["export", str(tmp_path / "gone.pt"), "-o", str(tmp_path / "m.onnx")])
    assert "Checkpoint `path` does not exist" in err


def test_cli_tflite_quantize_static_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    err = _one_line_error(
        capsys, ["export", "kws_cnn", "-o", str(tmp_path / "m.tflite"), "--quantize", "static"]
    )
    assert "`quantize` for tflite must be one of dynamic. Received: quantize='static'." in err


def test_cli_export_onnx_json(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    out = tmp_path / "kws.onnx"
    assert main(["export", "kws_cnn", "-o", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] and report["format"] == "onnx" and report["bytes"] == out.stat().st_size
    assert report["max_abs_diff"] <= report["fp32_tolerance"]
    assert report["input_shape"] == [1, 34, 13]


def test_cli_bench_bad_backend(capsys: pytest.CaptureFixture[str]) -> None:
    err = _one_line_error(capsys, ["bench", "kws_cnn", "--backends", "eager,tensorrt"])
    assert "`--backends` must be among" in err and "tensorrt" in err


def test_cli_bench_bad_batch(capsys: pytest.CaptureFixture[str]) -> None:
    err = _one_line_error(capsys, ["bench", "kws_cnn", "--batch", "0"])
    assert "`--batch` must be positive integers" in err


def test_cli_bench_json_structure(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("onnxruntime")
    argv = ["bench", "kws_cnn", "--batch", "1,2", "--threads", "1", "--backends", "eager,optimized,ort-fp32"]
    assert main([*argv, "--warmup", "1", "--repeats", "3", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    timings = {(t["backend"], t["batch"]) for t in result["timings"]}
    assert timings == {(b, n) for b in ("eager", "optimized", "ort-fp32") for n in (1, 2)}
    assert all(t["repeats"] == 3 and t["warmup"] == 1 for t in result["timings"])
    assert {r["batch"] for r in result["rooflines"]} == {1, 2}
    goal = result["goals"][0]
    assert {"best_vs_ort", "best_vs_roofline", "optimized_speedup"} <= goal.keys()
    # per-layer FLOPs at batch 2 are twice those at batch 1 (costs scale with the batch)
    flops = {r["batch"]: r["flops"] for r in result["rooflines"]}
    assert flops[2] == 2 * flops[1]


def test_cli_bench_prints_tables(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["bench", "kws_cnn", "--threads", "1", "--backends", "eager,optimized", "--no-progress"]
    assert main([*argv, "--warmup", "0", "--repeats", "2", "--top", "3"]) == 0
    out = capsys.readouterr().out
    for title in (
        "kws_cnn: input N=1",
        "machine probe",
        "goals",
        "measured vs roofline per layer",
        "by layer kind",
    ):
        assert title in out


def test_cli_unknown_format_flag(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    err = _one_line_error(capsys, ["export", "kws_cnn", "-o", str(tmp_path / "m.onnx"), "--format", "coreml"])
    assert "`format` must be one of onnx, tflite. Received: format='coreml'." in err


def test_run_directory_resolves_to_its_best_checkpoint(tmp_path: Path) -> None:
    from convwise.models import build

    _save(tmp_path / "best.pt", "kws_cnn", build("kws_cnn"))
    src = load_source(str(tmp_path))
    assert src.name == "kws_cnn" and src.checkpoint == tmp_path
