"""The TARGET commands' shared inputs: repeated `--input` with a dtype, explicit `--batch`, checkpoints."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest
import torch

from convwise.cli.main import main

NLP_FILE = """
import torch
from torch import nn


class Tagger(nn.Module):
    def __init__(self, vocab: int = 500) -> None:
        super().__init__()
        self.emb = nn.Embedding(vocab, 8)
        self.rnn = nn.GRU(8, 6, batch_first=True)
        self.head = nn.Linear(6, 3)

    def forward(self, ids, keep):
        out, _ = self.rnn(self.emb(ids))
        return self.head(out) * keep[..., None]
"""


@pytest.fixture
def nlp_target(tmp_path: Path) -> str:
    path = tmp_path / "tagger.py"
    path.write_text(textwrap.dedent(NLP_FILE))
    return f"{path}:Tagger"


def _summary(capsys: pytest.CaptureFixture[str], argv: list[str]) -> dict:
    assert main(["summary", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_token_ids_and_a_mask_from_the_command_line(capsys, nlp_target: str) -> None:
    data = _summary(capsys, [nlp_target, "--input", "long:16", "--input", "bool:16", "--batch", "2"])
    assert data["status"] == "complete" and data["batch"] == 2
    assert data["input_shapes"] == [[2, 16], [2, 16]]
    tokens = 2 * 16
    # GRU 8 → 6: input and hidden products (3 gates), then the head 6 → 3
    assert data["totals"]["macs"] == tokens * (18 * 8 + 18 * 6) + tokens * 6 * 3
    one = _summary(capsys, [nlp_target, "--input", "long:16", "--input", "bool:16"])
    assert one["batch"] == 1 and 2 * one["totals"]["macs"] == data["totals"]["macs"]


def test_an_unbatched_image_shape_is_one_sample(capsys) -> None:
    data = _summary(capsys, ["fashion_separable_cnn", "--input", "1x28x28"])
    assert data["input_shapes"] == [[1, 1, 28, 28]] and data["batch"] == 1
    assert (
        _summary(capsys, ["fashion_separable_cnn", "--input", "28x28x1", "--channels-last"])["totals"]
        == (data["totals"])
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--input", "complex:3"], r"`--input` must be \[DTYPE:\]SHAPE, DTYPE one of float32, float, "),
        (["--input", "long:0x4"], r"`--input` must be \[DTYPE:\]SHAPE: positive integers"),
        (["--batch", "0"], r"`--batch` must be a positive integer\. Received: batch='0'\."),
    ],
)
def test_bad_inputs_are_one_line_errors(capsys, nlp_target: str, argv: list[str], message: str) -> None:
    assert main(["summary", nlp_target, *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert re.search(message, err), err


def test_per_image_commands_say_what_they_take(capsys, tmp_path: Path, nlp_target: str) -> None:
    assert main(["diagram", nlp_target, "--input", "long:16", "-o", str(tmp_path / "d.svg")]) == 2
    assert "`convwise diagram` runs on one image input CxHxW" in capsys.readouterr().err
    assert main(["diagram", "kws_cnn", "--batch", "4", "-o", str(tmp_path / "d.svg")]) == 2
    assert "`convwise diagram` reports one sample: `--batch` must be 1." in capsys.readouterr().err


def _checkpoint(path: Path, name: str, config: dict) -> Path:
    from convwise.models import build
    from convwise.train.checkpoint import save_checkpoint

    torch.manual_seed(0)
    return save_checkpoint(
        path,
        build(name, **config),
        model_name=name,
        model_config=config,
        normalization={"mean": 0.5, "std": 0.25, "scale": 1 / 255},
        dataset="fashion-mnist",
        epoch=0,
        metrics={},
        input_shape=(1, 28, 28),
    )


def test_checkpoint_and_run_folder_as_target(capsys, tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    _checkpoint(run / "best.pt", "fashion_separable_cnn", {})
    fresh = _summary(capsys, ["fashion_separable_cnn"])
    for target in (str(run / "best.pt"), str(run)):
        data = _summary(capsys, [target])
        assert data["model"] == "fashion_separable_cnn" and data["training"] is False
        assert data["totals"]["params"] == fresh["totals"]["params"] == 184_234
        assert data["input_shapes"] == [[1, 1, 28, 28]]  # from the checkpoint


def test_report_counts_in_eval_mode_and_warns_about_another_models_run(capsys, tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    _checkpoint(run / "best.pt", "fashion_separable_cnn", {})
    (run / "metrics.csv").write_text("epoch,train_loss,val_loss\n1,1.0,1.1\n")
    out = tmp_path / "r.html"
    assert (
        main(["report", "kws_cnn", "--run", str(run), "-o", str(out), "--no-figures", "--no-graph", "--json"])
        == 0
    )
    captured = capsys.readouterr()
    assert "warning: --run" in captured.err and "'fashion_separable_cnn'" in captured.err
    assert json.loads(captured.out)["summary"]["training"] is False
    args = ["report", str(run), "--run", str(run), "-o", str(out), "--no-figures", "--no-graph", "--json"]
    assert main([*args, "--train"]) == 0
    captured = capsys.readouterr()
    assert "warning" not in captured.err  # the run of the very checkpoint reported
    assert json.loads(captured.out)["summary"]["training"] is True


def test_the_totals_line_names_the_axes_it_knows(capsys, nlp_target: str) -> None:
    assert (
        main(["summary", nlp_target, "--input", "long:16", "--input", "bool:16", "--format", "markdown"]) == 0
    )
    assert "Input (N first): (1, 16), (1, 16)" in capsys.readouterr().out
    assert main(["summary", "kws_cnn", "--format", "markdown"]) == 0
    assert "Input (N, C, H, W): (1, 1, 34, 13)" in capsys.readouterr().out
