"""Training throughput of convwise next to Keras for the seed's Fashion-MNIST CNN: images/s and ratios.

Both sides train the same architecture (Conv2D 32 -> SepConv 32 -> pool -> SepConv 64 x2 -> pool ->
SepConv 128 x2 -> pool -> Dense 128 -> Dense 10, SELU, 184,234 params) with Adam and sparse categorical
cross-entropy on the same number of 28x28 images, at batch 32 and 128. convwise is timed through its own
training loop (`convwise.train.epoch.run_epoch`: in-memory tensors, channels-last, the thread setting and
OpenMP wait policy `convwise train` uses); Keras through `model.fit` (one warm-up epoch, then timed epochs).
The Keras side runs in a subprocess with `--keras-python` (default: /tmp/tfvenv/bin/python, holding
tensorflow-cpu), so TensorFlow never shares a process or a venv with torch; the backend and versions it
used are printed. Measurements are interleaved (convwise, Keras, convwise, Keras ...) so that load on a
shared machine hits both alike; the best of `--repeats` is reported, and the ratio of the medians too.

Goal: convwise >= 1.3x Keras/TF images/s.

Usage: python bench/train_throughput.py [--images 3200] [--batch-sizes 32 128] [--repeats 3]
       [--keras-python /tmp/tfvenv/bin/python] [--run-dir RUN (time-to-accuracy of a run)] [--json]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as `convwise train` does, before torch loads

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

GOAL = 1.3

KERAS_SCRIPT = r"""
import json, os, sys, time
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np
import keras
from keras import layers
images, batch, epochs = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])

def build():
    sep = dict(kernel_size=3, padding="same", activation="selu")
    return keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(32, 3, padding="same", activation="selu"),
        layers.SeparableConv2D(32, **sep), layers.MaxPool2D(),
        layers.SeparableConv2D(64, **sep), layers.SeparableConv2D(64, **sep), layers.MaxPool2D(),
        layers.SeparableConv2D(128, **sep), layers.SeparableConv2D(128, **sep), layers.MaxPool2D(),
        layers.Flatten(), layers.Dense(128, activation="selu"), layers.Dense(10, activation="softmax"),
    ])

rng = np.random.default_rng(0)
x = rng.standard_normal((images, 28, 28, 1)).astype("float32")
y = rng.integers(0, 10, images)
model = build()
model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
              metrics=["accuracy"])
model.fit(x, y, batch_size=batch, epochs=1, verbose=0)  # warm-up (graph tracing)
times = []
for _ in range(epochs):
    t = time.perf_counter()
    model.fit(x, y, batch_size=batch, epochs=1, verbose=0)
    times.append(time.perf_counter() - t)
backend = keras.backend.backend()
version = {"keras": keras.__version__}
if backend == "tensorflow":
    import tensorflow as tf
    version["tensorflow"] = tf.__version__
print(json.dumps({"images_per_s": images / min(times), "params": model.count_params(),
                  "backend": backend, "versions": version}))
"""


def convwise_images_per_s(images: int, batch: int, epochs: int) -> dict:
    """Best images/s of `epochs` timed epochs of the convwise training loop (after a warm-up epoch)."""
    import torch

    from convwise.train.checkpoint import build_model
    from convwise.train.distributed import DistContext, available_cpus
    from convwise.train.epoch import lr_lambda, run_epoch
    from convwise.train.recipes import get_recipe

    config = get_recipe("seed")
    config.batch_size = batch
    ctx = DistContext()
    threads = config.threads or available_cpus()
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = build_model(config.model, config.model_config)
    if config.channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, eps=config.adam_eps)
    steps = -(-images // batch)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda(config, steps))
    x = torch.randn(images, 1, 28, 28)
    y = torch.randint(0, 10, (images,))
    times = []
    for epoch in range(epochs + 1):
        t = time.perf_counter()
        run_epoch(model, optimizer, scheduler, x, y, config, ctx, epoch + 1, batch, steps, None)
        if epoch:
            times.append(time.perf_counter() - t)
    params = sum(p.numel() for p in model.parameters())
    return {
        "images_per_s": images / min(times),
        "params": params,
        "backend": f"torch {torch.__version__}, {threads} thread(s), channels_last={config.channels_last}",
    }


def keras_images_per_s(python: str, images: int, batch: int, epochs: int) -> dict:
    """Run the Keras side in `python`; returns its JSON line."""
    proc = subprocess.run(
        [python, "-c", KERAS_SCRIPT, str(images), str(batch), str(epochs)],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"Keras side failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def time_to_accuracy(run_dir: Path, target: float) -> dict | None:
    """First epoch of a convwise run (trained with --track-test) whose test accuracy reached `target`."""
    from convwise.train.checkpoint import read_checkpoint

    progress = read_checkpoint(run_dir / "last.pt", expected_format="convwise-resume/1")["progress"]
    for row in progress["history"]:
        if row.get("test_accuracy", 0.0) >= target:
            return {"epoch": row["epoch"], "seconds": row["elapsed"], "test_accuracy": row["test_accuracy"]}
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=3200, help="images per timed epoch")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[32, 128])
    parser.add_argument("--epochs", type=int, default=2, help="timed epochs per measurement (best kept)")
    parser.add_argument("--repeats", type=int, default=2, help="interleaved measurements per side")
    parser.add_argument("--keras-python", default="/tmp/tfvenv/bin/python")
    parser.add_argument(
        "--run-dir",
        type=Path,
        action="append",
        default=[],
        help="convwise run trained with --track-test: report its time to --target (repeatable)",
    )
    parser.add_argument("--target", type=float, default=0.911)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not Path(args.keras_python).exists():
        print(
            f"--keras-python {args.keras_python} not found: create it with "
            "python3 -m venv /tmp/tfvenv && /tmp/tfvenv/bin/pip install tensorflow-cpu",
            file=sys.stderr,
        )
        return 2
    rows = []
    for batch in args.batch_sizes:
        ours, theirs = [], []
        info_ours = info_theirs = None
        for _ in range(args.repeats):
            info_ours = convwise_images_per_s(args.images, batch, args.epochs)
            ours.append(info_ours["images_per_s"])
            info_theirs = keras_images_per_s(args.keras_python, args.images, batch, args.epochs)
            theirs.append(info_theirs["images_per_s"])
        rows.append(
            {
                "batch": batch,
                "convwise_images_per_s": max(ours),
                "keras_images_per_s": max(theirs),
                "ratio_best": max(ours) / max(theirs),
                "ratio_median": statistics.median(ours) / statistics.median(theirs),
                "convwise_all": ours,
                "keras_all": theirs,
                "convwise": info_ours,
                "keras": info_theirs,
            }
        )
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    k = rows[0]["keras"]
    c = rows[0]["convwise"]
    print(
        f"Training throughput, seed Fashion-MNIST CNN ({c['params']:,} params convwise / "
        f"{k['params']:,} Keras), "
        f"{args.images} images per timed epoch, best of {args.repeats} x {args.epochs} epochs, interleaved"
    )
    print(f"convwise: {c['backend']}")
    print(f"Keras:    backend {k['backend']}, versions {k['versions']}")
    print(f"load average at the end: {Path('/proc/loadavg').read_text().split()[0]}")
    print()
    print(f"| batch | convwise img/s | Keras img/s | ratio (best) | ratio (median) | goal >= {GOAL}x |")
    print("|---:|---:|---:|---:|---:|:---:|")
    for r in rows:
        ok = "met" if r["ratio_best"] >= GOAL else "not met"
        print(
            f"| {r['batch']} | {r['convwise_images_per_s']:,.0f} | {r['keras_images_per_s']:,.0f} | "
            f"{r['ratio_best']:.2f}x | {r['ratio_median']:.2f}x | {ok} |"
        )
    for run in args.run_dir:
        hit = time_to_accuracy(run, args.target)
        if hit is None:
            print(f"{run}: test accuracy never reached {args.target:.1%}")
        else:
            print(
                f"{run}: test accuracy {hit['test_accuracy']:.2%} >= {args.target:.1%} after epoch "
                f"{hit['epoch']}, {hit['seconds']:.0f} s of training (measured on this shared machine)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
