"""The trainer stage by stage; a run that cannot start leaves no folder; a bad resume config is one line."""

from __future__ import annotations

import json

import pytest

from convwise.cli.main import main
from convwise.core.errors import ConfigError
from convwise.train.loop import Trainer, train
from convwise.train.recipes import TrainConfig

_QUIET_CLI = ["--no-progress", "--no-plots", "--no-tensorboard", "--threads", "1"]


@pytest.mark.parametrize(
    ("args", "message", "value"),
    [
        (["--dataset", "cifar10"], "`dataset` must be one of fashion-mnist, mnist.", "dataset='cifar10'"),
        (["--config", "activation=swish"], "`activation` must be one of", "activation='swish'"),
        (["--config", "conv_kind=octave"], "`conv_kind` must be one of", "conv_kind='octave'"),
        (["--epochs", "0"], "`epochs` must be a positive integer.", "epochs=0"),
        (["--val-size", "60000"], "`val_size` must be between 1 and 59999.", "val_size=60000"),
    ],
)
def test_a_run_that_cannot_start_leaves_no_folder(tmp_path, capsys, fashion_dir, args, message, value):
    run = tmp_path / "runs" / "r"
    code = main(["train", *args, "--data-dir", str(fashion_dir), "--run-dir", str(run), *_QUIET_CLI])
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and value in lines[0], err
    assert not run.exists() and not (tmp_path / "runs").exists()


def test_no_data_found_leaves_no_folder(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("CONVWISE_NO_DOWNLOAD", "1")
    empty = tmp_path / "empty"
    empty.mkdir()
    run = tmp_path / "r"
    code = main(["train", "--data-dir", str(empty), "--no-download", "--run-dir", str(run), *_QUIET_CLI])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("convwise: error:") and str(empty) in err and "Traceback" not in err
    assert not run.exists()


def test_default_run_folder_is_not_created_either(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match="`dataset` must be one of"):
        train(TrainConfig(dataset="cifar10"))
    assert list(tmp_path.iterdir()) == []


def _resumable(tmp_path, config: dict) -> str:
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps(config) if isinstance(config, dict) else config)
    return str(run)


@pytest.mark.parametrize(
    ("content", "message", "value"),
    [
        ("{not json", "config.json is not valid JSON (line 1, column 2).", "config.json"),
        ("[1, 2]", "config.json must hold a JSON object.", "config.json"),
        ({"epochs": "ten"}, "Training config field `epochs` must be an integer.", "epochs='ten'"),
        ({"lr": "fast"}, "Training config field `lr` must be a number.", "lr='fast'"),
        ({"flip": 1}, "Training config field `flip` must be true or false.", "flip=1"),
        ({"train_subset": 2.5}, "field `train_subset` must be an integer or null.", "train_subset=2.5"),
        ({"model_config": []}, "field `model_config` must be a JSON object.", "model_config=[]"),
        ({"epochs": -3}, "`epochs` must be a positive integer.", "epochs=-3"),
        ({"schedule": "step"}, "`schedule` must be one of constant, cosine.", "schedule='step'"),
        ({"batchsize": 32}, "Training config has unknown keys.", "keys=['batchsize']"),
    ],
)
def test_resume_with_a_bad_config_json_is_one_line(tmp_path, capsys, content, message, value):
    run = _resumable(
        tmp_path, {**TrainConfig().to_dict(), **content} if isinstance(content, dict) else content
    )
    before = sorted(p.name for p in (tmp_path / "run").iterdir())
    assert main(["train", "--resume", run, *_QUIET_CLI]) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("convwise: error:") and message in lines[0] and value in lines[0], err
    assert "config.json" in lines[0]  # the file is named
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == before  # nothing written


@pytest.mark.data
def test_the_stages_one_by_one(fashion_dir, tmp_path, tiny, quiet):
    run = tmp_path / "run"
    trainer = Trainer(tiny(epochs=2, train_subset=64), run_dir=run, data_dir=fashion_dir, **quiet())
    assert not run.exists()  # set-up writes nothing
    assert trainer.steps_per_epoch == 2 and trainer.local_batch == 32
    trainer.start()
    assert sorted(p.name for p in run.iterdir()) == ["config.json"]
    assert json.loads((run / "config.json").read_text()) == trainer.config.to_dict()
    row = trainer.train_epoch(1)
    assert set(row) == {"train_loss", "train_accuracy", "lr"} and 0 <= row["train_accuracy"] <= 1
    val = trainer.evaluate("val")
    row.update(epoch=1, val_loss=val.loss, val_accuracy=val.accuracy, seconds=0.5)
    assert trainer.end_epoch(row) is False  # epoch 1 of 2
    assert {"best.pt", "last.pt", "metrics.csv"} <= {p.name for p in run.iterdir()}
    assert trainer.state.best_epoch == 1 and trainer.state.epoch == 1

    # a second trainer resumes from what end_epoch saved: same weights, optimiser and progress
    again = Trainer(TrainConfig(), resume=run, data_dir=fashion_dir, **quiet())
    again.start()
    assert again.state == trainer.state
    for a, b in zip(again.model.state_dict().values(), trainer.model.state_dict().values(), strict=True):
        assert a.equal(b)
    assert again.optimizer.state_dict()["state"][0]["step"] == trainer.steps_per_epoch
