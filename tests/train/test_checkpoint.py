"""Checkpoint format, loading back, damaged files, and atomic writes that survive crashes and kill -9."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from convwise.core.errors import ConfigError
from convwise.models import build
from convwise.train import checkpoint as ckpt
from convwise.train.checkpoint import atomic_save, load_checkpoint, save_checkpoint


def _save(path, model, epoch=3):
    return save_checkpoint(
        path,
        model,
        model_name="fashion_separable_cnn",
        model_config={"activation": "selu"},
        normalization={"mean": 0.286, "std": 0.353, "scale": 1 / 255},
        dataset="fashion-mnist",
        epoch=epoch,
        metrics={"val_loss": 0.25, "val_accuracy": 0.91},
        classes=[str(i) for i in range(10)],
    )


def test_round_trip_rebuilds_the_same_function(tmp_path):
    torch.manual_seed(0)
    model = build("fashion_separable_cnn", activation="selu")
    path = _save(tmp_path / "best.pt", model)
    payload = torch.load(path, weights_only=True)  # the contract other tools rely on
    assert payload["format"] == "convwise-checkpoint/1"
    assert payload["model"] == {"name": "fashion_separable_cnn", "config": {"activation": "selu"}}
    assert payload["normalization"]["mean"] == 0.286 and payload["epoch"] == 3
    loaded, info = load_checkpoint(path)
    assert not loaded.training and "state_dict" not in info
    x = torch.randn(4, 1, 28, 28)
    model.eval()
    torch.testing.assert_close(loaded(x), model(x), rtol=0, atol=0)
    loaded_dir, _ = load_checkpoint(tmp_path)  # a run directory means its best.pt
    torch.testing.assert_close(loaded_dir(x), model(x), rtol=0, atol=0)


def test_missing_corrupt_and_foreign_files_name_the_path(tmp_path):
    with pytest.raises(ConfigError, match=r"Checkpoint `path` does not exist\. Received: path='.*nope\.pt'"):
        load_checkpoint(tmp_path / "nope.pt")
    path = _save(tmp_path / "best.pt", build("fashion_separable_cnn"))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ConfigError, match=r"corrupt or unreadable.*best\.pt"):
        load_checkpoint(path)
    torch.save({"weights": torch.zeros(1)}, tmp_path / "other.pt")
    with pytest.raises(ConfigError, match=r"not a convwise-checkpoint/1 file.*other\.pt"):
        load_checkpoint(tmp_path / "other.pt")


def test_weights_that_do_not_fit_the_model(tmp_path):
    model = build("fashion_separable_cnn")
    path = save_checkpoint(
        tmp_path / "b.pt",
        model,
        model_name="fashion_separable_cnn",
        model_config={"num_classes": 5},
        normalization={"mean": 0.0, "std": 1.0},
        dataset="fashion-mnist",
        epoch=1,
        metrics={},
    )
    with pytest.raises(ConfigError, match=r"does not match its model 'fashion_separable_cnn'.*b\.pt"):
        load_checkpoint(path)


def test_crash_during_save_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    model = build("fashion_separable_cnn")
    path = _save(tmp_path / "best.pt", model, epoch=1)
    before = path.read_bytes()

    def crashing_save(obj, fh, *args, **kwargs):
        fh.write(b"PK\x03\x04 half a zip file")
        raise OSError("disk full")

    monkeypatch.setattr(ckpt.torch, "save", crashing_save)
    with pytest.raises(OSError, match="disk full"):
        _save(path, model, epoch=2)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert load_checkpoint(path)[1]["epoch"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.pt"]  # no temporary file left behind


_WRITER = """
import sys, torch
from convwise.train.checkpoint import atomic_save
path = sys.argv[1]
big = {"format": "x", "w": torch.arange(4_000_000, dtype=torch.float32)}
i = 0
while True:
    i += 1
    big["i"] = i
    atomic_save(big, path)
    print(i, flush=True)
"""


def test_kill_9_during_writes_never_leaves_a_corrupt_file(tmp_path):
    """SIGKILL lands in the middle of a write (its temporary file is left beside), the file stays whole."""
    mid_write = 0
    for attempt, delay in enumerate((0.37, 0.11, 0.23, 0.05, 0.31)):
        folder = tmp_path / str(attempt)
        folder.mkdir()
        path = folder / "last.pt"
        proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(path)], stdout=subprocess.PIPE, text=True)
        try:
            assert proc.stdout is not None
            proc.stdout.readline()  # at least one complete write
            time.sleep(delay)  # then kill it somewhere in a later write
        finally:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
        assert proc.returncode == -signal.SIGKILL  # the kill landed (the writer never ends on its own)
        payload = torch.load(path, weights_only=True)
        assert payload["i"] >= 1
        torch.testing.assert_close(payload["w"], torch.arange(4_000_000, dtype=torch.float32))
        mid_write += any(p.name.startswith(".last.pt.") for p in folder.iterdir())  # a write was cut short
        if mid_write:
            break
    assert mid_write, "no kill landed inside a write in 5 tries: the test proved nothing"


def test_atomic_save_replaces(tmp_path):
    atomic_save({"a": 1}, tmp_path / "x.pt")
    atomic_save({"a": 2}, tmp_path / "x.pt")
    assert torch.load(tmp_path / "x.pt", weights_only=True) == {"a": 2}
