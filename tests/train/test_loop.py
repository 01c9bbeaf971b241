"""The training loop on real Fashion-MNIST subsets: it learns, early stopping stops, resume is exact."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from convwise.core.errors import ConfigError
from convwise.train.checkpoint import read_checkpoint
from convwise.train.loop import train
from convwise.train.state import EarlyStopping

pytestmark = pytest.mark.data


def test_early_stopping_follows_keras_semantics():
    # Hand-worked: improvement means val_loss < best - min_delta; stop once `patience` epochs in a row fail.
    stopper = EarlyStopping(patience=2, min_delta=1e-3)
    decisions = [stopper.update(v, e) for e, v in enumerate([1.0, 0.9995, 0.99, 0.995, 0.991], start=1)]
    assert decisions == [False, False, False, False, True]
    assert stopper.best == 0.99 and stopper.stopped_epoch == 5


def test_a_few_hundred_steps_learn(fashion_dir, tmp_path, tiny, quiet):
    config = tiny(train_subset=4000, val_size=500, test_subset=1000, epochs=2)
    results = train(config, run_dir=tmp_path / "run", data_dir=fashion_dir, **quiet())  # 250 steps
    assert results["test_accuracy"] > 0.70  # chance is 0.10
    assert results["epochs_run"] == 2 and results["test"]["count"] == 1000
    assert {"best.pt", "last.pt", "config.json", "metrics.csv", "results.json"} <= {
        p.name for p in (tmp_path / "run").iterdir()
    }


def test_early_stopping_stops_a_run(fashion_dir, tmp_path, tiny, quiet):
    # With a vanishing learning rate the val loss cannot drop by min_delta: epoch 1 sets the best,
    # epochs 2 and 3 fail, patience 2 stops the run at epoch 3 of 6.
    config = tiny(lr=1e-9, epochs=6, patience=2, train_subset=64)
    results = train(config, run_dir=tmp_path / "run", data_dir=fashion_dir, **quiet())
    assert results["epochs_run"] == 3 and results["early_stopped"] is True


def _history(run):
    with open(run / "metrics.csv") as fh:
        return [
            {k: v for k, v in row.items() if k not in ("seconds", "elapsed")} for row in csv.DictReader(fh)
        ]


def test_resume_equals_uninterrupted(fashion_dir, tmp_path, tiny, quiet):
    config = tiny("default")  # cosine schedule and random flips: every RNG stream matters
    full = train(config, run_dir=tmp_path / "full", data_dir=fashion_dir, **quiet())
    part = train(config, run_dir=tmp_path / "part", data_dir=fashion_dir, max_epochs_this_call=1, **quiet())
    assert part == {"run_dir": str(tmp_path / "part"), "epochs_run": 1, "finished": False}
    train(config, resume=tmp_path / "part", data_dir=fashion_dir, max_epochs_this_call=1, **quiet())
    resumed = train(config, resume=tmp_path / "part", data_dir=fashion_dir, **quiet())
    assert resumed["test_accuracy"] == full["test_accuracy"] and resumed["best_epoch"] == full["best_epoch"]
    a = read_checkpoint(tmp_path / "full" / "best.pt")["state_dict"]
    b = read_checkpoint(tmp_path / "part" / "best.pt")["state_dict"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert _history(tmp_path / "full") == _history(tmp_path / "part")


def test_kill_9_then_resume_equals_uninterrupted(fashion_dir, tmp_path, tiny, quiet):
    """A `convwise train` process killed with SIGKILL resumes from its last completed epoch."""
    config = tiny(epochs=4)
    run = tmp_path / "killed"
    cmd = [
        sys.executable,
        "-m",
        "convwise",
        "train",
        "--recipe",
        "seed",
        "--train-subset",
        "256",
        "--val-size",
        "256",
        "--test-subset",
        "256",
        "--epochs",
        "4",
        "--threads",
        "1",
        "--data-dir",
        str(fashion_dir),
        "--run-dir",
        str(run),
        "--no-progress",
        "--no-plots",
        "--no-tensorboard",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not (run / "last.pt").exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the kill never landed: the run ended on its own"
    progress = read_checkpoint(run / "last.pt", expected_format="convwise-resume/1")["progress"]
    assert 1 <= progress["epoch"] < 4 and progress["finished"] is False  # killed mid-run, not after it
    resumed = train(config, resume=run, data_dir=fashion_dir, **quiet())
    full = train(config, run_dir=tmp_path / "full", data_dir=fashion_dir, **quiet())
    assert resumed["test_accuracy"] == full["test_accuracy"]
    a = read_checkpoint(run / "best.pt")["state_dict"]
    b = read_checkpoint(tmp_path / "full" / "best.pt")["state_dict"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_run_dir_in_use_and_bad_resume(fashion_dir, tmp_path, tiny, quiet):
    config = tiny(epochs=1, train_subset=32)
    train(config, run_dir=tmp_path / "r", data_dir=fashion_dir, **quiet())
    with pytest.raises(ConfigError, match="`run_dir` already holds a run; continue it with --resume"):
        train(config, run_dir=tmp_path / "r", data_dir=fashion_dir, **quiet())
    with pytest.raises(ConfigError, match=r"`resume` must be a run directory holding config\.json"):
        train(config, resume=tmp_path / "nothing", data_dir=fashion_dir, **quiet())


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_stops_cleanly_and_says_how_to_resume(fashion_dir, tmp_path, sig):
    run = tmp_path / "run"
    cmd = [
        sys.executable,
        "-m",
        "convwise",
        "train",
        "--train-subset",
        "128",
        "--val-size",
        "128",
        "--test-subset",
        "128",
        "--epochs",
        "500",
        "--threads",
        "1",
        "--data-dir",
        str(fashion_dir),
        "--run-dir",
        str(run),
        "--no-progress",
        "--no-plots",
        "--no-tensorboard",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (run / "last.pt").exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert f"resume with: convwise train --resume {run}" in err
    progress = read_checkpoint(run / "last.pt", expected_format="convwise-resume/1")["progress"]
    assert progress["epoch"] >= 1 and progress["finished"] is False
