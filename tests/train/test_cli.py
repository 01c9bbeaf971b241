"""`convwise train --json` and `convwise evaluate`, checked against a hand-written PyTorch evaluation."""

from __future__ import annotations

import json

import pytest
import torch

from convwise.cli.main import main
from convwise.data.idx import read_idx
from convwise.models import build

pytestmark = pytest.mark.data


def test_train_json_then_evaluate_matches_plain_torch(fashion_dir, tmp_path, capsys):
    run = tmp_path / "run"
    code = main(
        [
            "train",
            "--recipe",
            "seed",
            "--train-subset",
            "320",
            "--val-size",
            "200",
            "--test-subset",
            "500",
            "--epochs",
            "1",
            "--threads",
            "1",
            "--data-dir",
            str(fashion_dir),
            "--run-dir",
            str(run),
            "--no-progress",
            "--no-plots",
            "--no-tensorboard",
            "--json",
        ]
    )
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    for key in ("test_accuracy", "test_loss", "epochs_run", "best_epoch", "seconds", "run_dir"):
        assert key in out
    assert out["run_dir"] == str(run) and out["epochs_run"] == 1 and "best.pt" in out["files"]

    # the validation split (first 200 training images, from the checkpoint's recipe) keeps this quick
    assert main(["evaluate", str(run), "--split", "val", "--data-dir", str(fashion_dir), "--json"]) == 0
    scored = json.loads(capsys.readouterr().out)

    # Independent evaluation: raw torch.load, the zoo model, normalisation written out by hand.
    payload = torch.load(run / "best.pt", weights_only=True)
    model = build(payload["model"]["name"], **payload["model"]["config"])
    model.load_state_dict(payload["state_dict"])
    model.eval()
    all_images = torch.from_numpy(read_idx(fashion_dir / "train-images-idx3-ubyte.gz"))
    images = all_images[:200].float()
    labels = torch.from_numpy(read_idx(fashion_dir / "train-labels-idx1-ubyte.gz"))[:200].long()
    train_px = all_images[200:520].double() / 255
    assert payload["normalization"]["mean"] == pytest.approx(float(train_px.mean()), rel=1e-9)
    x = ((images / 255 - train_px.mean().item()) / train_px.std(unbiased=False).item()).unsqueeze(1)
    with torch.no_grad():
        logits = model(x)
    accuracy = (logits.argmax(1) == labels).double().mean().item()
    loss = torch.nn.functional.cross_entropy(logits, labels).item()
    assert scored["split"] == "val" and scored["val_accuracy"] == pytest.approx(accuracy, abs=1e-9)
    assert scored["val_loss"] == pytest.approx(loss, rel=1e-4)
    assert sum(map(sum, scored["confusion_matrix"])) == 200


def test_bad_resume_is_one_line_error(tmp_path, capsys):
    assert main(["train", "--resume", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("convwise: error: `resume` must be a run directory holding config.json.")
