"""The seed's Keras script: the Fashion-MNIST separable CNN trained with its recipe on TensorFlow (reference).

Run by `bench/train_throughput.py` in a venv of its own holding tensorflow-cpu (never in the test suite's).
Same data and recipe as `convwise train --recipe seed`: the first 5,000 training images validate, the other
55,000 train; pixels / 255 standardised with one mean and std fitted on those 55,000; Adam(1e-3) with
Keras' defaults (epsilon 1e-7), sparse categorical cross-entropy, batch 32, up to 10 epochs, EarlyStopping on
val loss (patience 5, min_delta 1e-3), ModelCheckpoint(save_best_only), the test set scored with the best
weights. Keras' default initialisers (glorot_uniform kernels, zero biases). After every epoch the test set
is scored too (monitoring only), so that the time to a test accuracy can be read; one JSON line at the end.

Usage: python bench/keras_seed.py DATA_DIR [--epochs 10] [--batch 32] [--throughput IMAGES]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np


def read_idx(path: Path) -> np.ndarray:
    """An IDX file (gzip or raw) as a uint8 array."""
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    dims = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims))
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def find(folder: Path, name: str) -> Path:
    for candidate in (folder / f"{name}.gz", folder / name):
        if candidate.is_file():
            return candidate
    raise SystemExit(f"{name}(.gz) not found in {folder}")


def build(keras):
    """The seed's model (tests/keras_seed_model.py, the tests' Keras oracle) with its softmax head."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from keras_seed_model import seed_fashion_cnn

    return seed_fashion_cnn(keras, head_activation="softmax")


def versions(keras) -> dict:
    out = {"keras": keras.__version__, "backend": keras.backend.backend()}
    if out["backend"] == "tensorflow":
        import tensorflow as tf

        out["tensorflow"] = tf.__version__
    return out


def throughput(keras, images: int, batch: int, epochs: int) -> dict:
    """Best images/s of `epochs` timed `fit` epochs on random data (after a warm-up epoch)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((images, 28, 28, 1)).astype("float32")
    y = rng.integers(0, 10, images)
    model = build(keras)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
    model.fit(x, y, batch_size=batch, epochs=1, verbose=0)  # warm-up: graph tracing
    times = []
    for _ in range(epochs):
        t = time.perf_counter()
        model.fit(x, y, batch_size=batch, epochs=1, verbose=0)
        times.append(time.perf_counter() - t)
    return {"images_per_s": images / min(times), "params": model.count_params(), **versions(keras)}


def seed_run(keras, data: Path, epochs: int, batch: int) -> dict:
    """The seed's training run; per-epoch test accuracy and elapsed seconds."""
    xtr = read_idx(find(data, "train-images-idx3-ubyte"))
    ytr = read_idx(find(data, "train-labels-idx1-ubyte")).astype("int64")
    xte = read_idx(find(data, "t10k-images-idx3-ubyte"))
    yte = read_idx(find(data, "t10k-labels-idx1-ubyte")).astype("int64")
    val = 5000
    train_px = xtr[val:].astype("float64") / 255.0
    mean, std = float(train_px.mean()), float(train_px.std())

    def prep(a: np.ndarray) -> np.ndarray:
        return ((a.astype("float32") / 255.0 - mean) / std)[..., None]

    x_train, y_train = prep(xtr[val:]), ytr[val:]
    x_val, y_val = prep(xtr[:val]), ytr[:val]
    x_test = prep(xte)
    keras.utils.set_random_seed(42)
    model = build(keras)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    history: list[dict] = []
    start = [0.0]
    best_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"keras-seed-best-{os.getpid()}.weights.h5"

    class Track(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            start[0] = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            pred = self.model.predict(x_test, batch_size=256, verbose=0).argmax(1)
            row = {k: float(v) for k, v in (logs or {}).items()}
            row.update(epoch=epoch + 1, test_accuracy=float((pred == yte).mean()))
            row["elapsed"] = time.perf_counter() - start[0]
            history.append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)

    callbacks = [
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=5, min_delta=1e-3),
        keras.callbacks.ModelCheckpoint(
            str(best_path), monitor="val_loss", save_best_only=True, save_weights_only=True
        ),
        Track(),
    ]
    t0 = time.perf_counter()
    model.fit(
        x_train,
        y_train,
        batch_size=batch,
        epochs=epochs,
        validation_data=(x_val, y_val),
        callbacks=callbacks,
        verbose=0,
    )
    seconds = time.perf_counter() - t0
    model.load_weights(str(best_path))
    best_path.unlink(missing_ok=True)
    pred = model.predict(x_test, batch_size=256, verbose=0).argmax(1)
    return {
        "test_accuracy": float((pred == yte).mean()),
        "seconds": seconds,
        "history": history,
        "params": model.count_params(),
        **versions(keras),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path, nargs="?")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--throughput", type=int, metavar="IMAGES", help="time fit() on random data instead")
    args = parser.parse_args()
    import keras

    if args.throughput:
        out = throughput(keras, args.throughput, args.batch, args.epochs)
    else:
        out = seed_run(keras, args.data_dir, args.epochs, args.batch)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
