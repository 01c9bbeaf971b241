"""Two-process torchrun (gloo) run: equals the single-process run with the same global batch."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch

from convwise.models import build
from convwise.train.checkpoint import read_checkpoint
from convwise.train.init import keras_init_
from convwise.train.loop import train

pytestmark = [pytest.mark.data, pytest.mark.slow]


def test_torchrun_two_processes_match_one(fashion_dir, tmp_path, tiny, quiet):
    # 512 images, global batch 32: each rank sees 16 of the same 32 images per step, DDP averages the
    # gradients, so the weights must equal the single-process run's up to float summation order.
    args = [
        "--recipe",
        "seed",
        "--train-subset",
        "512",
        "--val-size",
        "256",
        "--test-subset",
        "256",
        "--epochs",
        "1",
        "--threads",
        "1",
        "--data-dir",
        str(fashion_dir),
    ]
    run = tmp_path / "ddp"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nproc-per-node",
            "2",
            "--standalone",
            "-m",
            "convwise",
            "train",
            *args,
            "--run-dir",
            str(run),
            "--no-progress",
            "--json",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads(proc.stdout[proc.stdout.index("{") :])
    assert results["world_size"] == 2 and results["epochs_run"] == 1
    assert "best.pt" in results["files"] and "metrics.csv" in results["files"]
    single = train(
        tiny(train_subset=512, epochs=1), run_dir=tmp_path / "single", data_dir=fashion_dir, **quiet()
    )
    a = read_checkpoint(run / "best.pt")["state_dict"]
    b = read_checkpoint(tmp_path / "single" / "best.pt")["state_dict"]
    torch.manual_seed(42)  # the recipe's seed and initialisation: the common initial weights
    init = keras_init_(build("fashion_separable_cnn")).state_dict()
    gap = torch.cat([(a[k] - b[k]).flatten() for k in a]).norm()
    moved = torch.cat([(b[k] - init[k]).flatten() for k in a]).norm()
    # Adam amplifies float-order differences a little; a wrong shard or gradient average would give ~moved.
    assert gap < 0.02 * moved, (float(gap), float(moved))
    assert results["test_accuracy"] == pytest.approx(single["test_accuracy"], abs=2 / 256)
