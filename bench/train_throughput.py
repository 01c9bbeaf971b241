"""Training speed of convwise next to plain PyTorch and Keras/TensorFlow for the seed's Fashion-MNIST CNN.

Table 1, images/s at batch 32 and 128 (fp32; bf16 where the CPU has it, marked), one interleaved run:
- convwise: its own training step (`convwise.train.epoch.run_epoch` + `TrainStep`: channels-last, the fast
  pointwise / first convs and SELU of `convwise.layers.fast`, fused Adam, running sums kept as tensors), with
  the thread count, OpenMP wait policy and heap settings `convwise train` uses;
- plain PyTorch: the textbook loop (the same model built from nn.Conv2d, channels-last, torch.optim.Adam;
  glibc's and OpenMP's default settings);
- Keras 3 on TensorFlow: `model.fit` of the same model (bench/keras_seed.py), in a venv of its own.
Rounds are interleaved (convwise, PyTorch, Keras, convwise, ...) so that load on a shared machine hits all
alike; the best of `--repeats` is kept, and the ratio of medians is shown too. Goal: convwise >= 1.3x Keras.
Every measurement runs in a process of its own: convwise's with the wait policy and heap `convwise train`
chooses, plain PyTorch's with the defaults, and none beside another side's idle (perhaps spinning) threads.

Table 2 (`--time-to-accuracy`): `convwise train --recipe seed --track-test` and the seed's Keras script on
the real data, the same recipe; the first epoch whose test accuracy reaches `--target`, and its time.

The Keras side runs with `--keras-python` (default: ~/.cache/convwise-bench/tf/bin/python); when it does not
exist the script creates that venv and installs tensorflow-cpu into it (never into the test suite's venv).

Usage: python bench/train_throughput.py [--images 3200] [--batch-sizes 32 128] [--repeats 3]
       [--time-to-accuracy] [--data-dir DIR] [--target 0.911] [--bf16-run] [--json]
"""

from __future__ import annotations

import os
import sys

if sys.argv[1:2] == ["--worker"] and sys.argv[2:3] != ["pytorch"]:
    from convwise.cli.cmd_train import choose_openmp_wait

    choose_openmp_wait()  # a convwise side: as `convwise train` does, before torch loads

import argparse
import json
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

GOAL = 1.3
USER_WAIT_POLICY = os.environ.get("OMP_WAIT_POLICY")  # set by whoever started the bench: kept
HERE = Path(__file__).resolve().parent
KERAS_VENV = Path.home() / ".cache" / "convwise-bench" / "tf"
FLAGS_SHOWN = ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile", "avx512_vnni")


def ensure_keras(python: str | None) -> str:
    """The Python of a venv holding tensorflow-cpu: `python`, or ~/.cache/convwise-bench/tf (created)."""
    if python:
        return python
    exe = KERAS_VENV / "bin" / "python"
    if not exe.exists():
        print(f"setting up the Keras/TensorFlow reference in {KERAS_VENV} (pip install tensorflow-cpu) ...")
        subprocess.run([sys.executable, "-m", "venv", str(KERAS_VENV)], check=True)
        subprocess.run([str(exe), "-m", "pip", "install", "-q", "tensorflow-cpu"], check=True)
    return str(exe)


def _data(images: int, batch: int):
    import torch

    g = torch.Generator().manual_seed(0)
    x = torch.randn(images, 1, 28, 28, generator=g)
    y = torch.randint(0, 10, (images,), generator=g)
    return x, y


def convwise_images_per_s(images: int, batch: int, epochs: int, precision: str = "fp32") -> float:
    """Best images/s of `epochs` timed epochs of convwise's training step (after a warm-up epoch)."""
    import torch

    from convwise.layers.fast import use_fast_layers_
    from convwise.models import build
    from convwise.train.distributed import DistContext
    from convwise.train.epoch import lr_lambda, run_epoch
    from convwise.train.recipes import get_recipe
    from convwise.train.step import TrainStep

    config = get_recipe("seed")
    config.batch_size, config.precision = batch, precision
    torch.manual_seed(0)
    model = build(config.model).to(memory_format=torch.channels_last)
    use_fast_layers_(model)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, eps=config.adam_eps, fused=True)
    steps = -(-images // batch)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda(config, steps))
    step = TrainStep(model, optimizer, batch_size=batch, precision=precision)
    x, y = _data(images, batch)
    times = []
    for epoch in range(epochs + 1):
        t = time.perf_counter()
        run_epoch(step, scheduler, x, y, config, DistContext(), epoch + 1, batch, steps, None)
        if epoch:
            times.append(time.perf_counter() - t)
    return images / min(times)


def plain_images_per_s(images: int, batch: int, epochs: int) -> float:
    """Best images/s of a textbook PyTorch loop on the same model (nn.Conv2d, channels-last, Adam)."""
    import torch
    import torch.nn.functional as F

    from convwise.models import build

    torch.manual_seed(0)
    model = build("fashion_separable_cnn").to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    x, y = _data(images, batch)
    x = x.contiguous(memory_format=torch.channels_last)
    times = []
    for epoch in range(epochs + 1):
        t = time.perf_counter()
        perm = torch.randperm(images)
        for i in range(0, images, batch):
            idx = perm[i : i + batch]
            loss = F.cross_entropy(model(x[idx]), y[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        if epoch:
            times.append(time.perf_counter() - t)
    return images / min(times)


def _child_env() -> dict[str, str]:
    """The environment for a measured child process: ours, less an OMP_WAIT_POLICY we did not inherit."""
    env = dict(os.environ)
    if not USER_WAIT_POLICY:
        env.pop("OMP_WAIT_POLICY", None)
    return env


def worker_run(side: str, batch: int, images: int, epochs: int) -> dict:
    """One measurement of `side` (convwise, convwise_bf16, pytorch) in a process of its own.

    Each side gets a fresh process, so that its OpenMP threads and heap are its own, and no idle threads
    of another side spin (OMP_WAIT_POLICY=ACTIVE) beside it — nor beside the Keras run.
    """
    cmd = [sys.executable, __file__, "--worker", side, "--batch-sizes", str(batch)]
    cmd += ["--images", str(images), "--epochs", str(epochs)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=3600, env=_child_env())
    if proc.returncode != 0:
        raise RuntimeError(f"{side} side failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def worker(side: str, images: int, batch: int, epochs: int) -> int:
    """The `--worker` mode: measure one side and print one JSON line."""
    import torch

    from convwise.deploy.optimized import tune_allocator
    from convwise.train.distributed import available_cpus

    torch.set_num_threads(available_cpus())
    if side == "pytorch":  # the textbook loop: glibc's and OpenMP's defaults
        ips, tuned = plain_images_per_s(images, batch, epochs), False
    else:  # as `convwise train` runs: its wait policy (chosen above) and the tuned heap
        tuned = tune_allocator()
        precision = "bf16" if side == "convwise_bf16" else "fp32"
        ips = convwise_images_per_s(images, batch, epochs, precision)
    policy = os.environ.get("OMP_WAIT_POLICY", "default")
    print(json.dumps({"images_per_s": ips, "omp_wait_policy": policy, "allocator": tuned}))
    return 0


def keras_run(python: str, *args: str, timeout: int = 3600) -> dict:
    """Run bench/keras_seed.py in the Keras venv; its last stdout line as JSON."""
    proc = subprocess.run(
        [python, str(HERE / "keras_seed.py"), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=_child_env(),
    )
    if proc.returncode != 0:
        raise RuntimeError(f"Keras side failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def convwise_seed_run(data_dir: str | None, precision: str, threads: int) -> dict:
    """`convwise train --recipe seed --track-test` in a subprocess; per-epoch history from its last.pt."""
    import torch

    run = Path(tempfile.mkdtemp(prefix="convwise-seed-")) / "run"
    cmd = [
        sys.executable,
        "-m",
        "convwise",
        "train",
        "--recipe",
        "seed",
        "--track-test",
        "--run-dir",
        str(run),
    ]
    cmd += ["--no-progress", "--no-plots", "--no-tensorboard", "--json", "--precision", precision]
    cmd += ["--threads", str(threads)] + (["--data-dir", data_dir] if data_dir else [])
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=7200)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"convwise train failed:\n{proc.stderr[-3000:]}")
    results = json.loads(proc.stdout[proc.stdout.index("{") :])
    last = torch.load(run / "last.pt", weights_only=True)
    return {
        "test_accuracy": results["test_accuracy"],
        "seconds": results["seconds"],
        "wall": wall,
        "history": last["progress"]["history"],
        "run_dir": str(run),
    }


def first_hit(history: list[dict], target: float) -> dict | None:
    """The first epoch whose test accuracy reached `target`."""
    return next((r for r in history if r.get("test_accuracy", 0.0) >= target), None)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=3200, help="images per timed epoch")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[32, 128])
    parser.add_argument("--epochs", type=int, default=2, help="timed epochs per measurement (best kept)")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved rounds")
    parser.add_argument("--keras-python", help=f"Python of a venv with tensorflow-cpu (default {KERAS_VENV})")
    parser.add_argument("--time-to-accuracy", action="store_true", help="also the full seed runs (table 2)")
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--data-dir", help="Fashion-MNIST folder (default: the lookup convwise train uses)")
    parser.add_argument("--target", type=float, default=0.911)
    parser.add_argument("--bf16-run", action="store_true", help="table 2 also with --precision bf16")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--worker", choices=["convwise", "convwise_bf16", "pytorch"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args.worker, args.images, args.batch_sizes[0], args.epochs)

    import torch

    from convwise.machine import cpu_flags, cpu_model
    from convwise.train.distributed import available_cpus

    python = ensure_keras(args.keras_python)
    threads = available_cpus()  # this process measures nothing itself: each side runs in its own
    flags = cpu_flags()
    bf16 = bool(flags & {"avx512_bf16", "amx_bf16"})
    out: dict = {
        "cpu": cpu_model(),
        "flags": [f for f in FLAGS_SHOWN if f in flags],
        "threads": threads,
        "omp_wait_policy": set(),
        "allocator": set(),
        "torch": torch.__version__,
        "throughput": [],
    }
    sides = ["convwise", "pytorch", "keras"] + (["convwise_bf16"] if bf16 else [])
    for batch in [] if args.skip_throughput else args.batch_sizes:
        got: dict[str, list[float]] = {s: [] for s in sides}
        for _ in range(args.repeats):
            for side in ["convwise", "pytorch"] + (["convwise_bf16"] if bf16 else []):
                r = worker_run(side, batch, args.images, args.epochs)
                got[side].append(r["images_per_s"])
                if side == "convwise":
                    out["omp_wait_policy"].add(r["omp_wait_policy"])
                    out["allocator"].add("tuned" if r["allocator"] else "default")
            k = keras_run(
                python, "--throughput", str(args.images), "--batch", str(batch), "--epochs", str(args.epochs)
            )
            out["keras"] = {key: v for key, v in k.items() if key != "images_per_s"}
            got["keras"].append(k["images_per_s"])
        out["throughput"].append({"batch": batch, "all": got, "load": os.getloadavg()[0]})
    if args.time_to_accuracy:
        runs = {"keras": keras_run(python, str(_data_dir(args.data_dir)), timeout=7200)}
        keep = ("keras", "backend", "tensorflow")
        out.setdefault("keras", {key: runs["keras"][key] for key in keep if key in runs["keras"]})
        runs["convwise"] = convwise_seed_run(args.data_dir, "fp32", threads)
        if args.bf16_run and bf16:
            runs["convwise_bf16"] = convwise_seed_run(args.data_dir, "bf16", threads)
        out["time_to_accuracy"] = runs
    out["omp_wait_policy"] = sorted(out["omp_wait_policy"])
    out["allocator"] = sorted(out["allocator"])
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        print_tables(out, args)
    return 0


def _data_dir(explicit: str | None) -> Path:
    from convwise.data import get_spec, locate_dataset

    return locate_dataset(get_spec("fashion-mnist"), explicit, download=False)


def print_tables(out: dict, args: argparse.Namespace) -> None:
    print(f"CPU: {out['cpu']} ({out['threads']} threads used; flags: {' '.join(out['flags'])})")
    k = out.get("keras", {})
    print(
        f"torch {out['torch']}; convwise's side: OMP_WAIT_POLICY {'/'.join(out['omp_wait_policy']) or '-'}, "
        f"allocator {'/'.join(out['allocator']) or '-'} (plain PyTorch: the defaults); "
        f"Keras {k.get('keras', '?')} on "
        f"{k.get('backend', '?')} {k.get('tensorflow', '')}"
    )
    if out["throughput"]:
        print(
            f"\nTraining images/s, seed CNN (184,234 params), {args.images} random images per timed epoch, "
            f"best of {args.repeats} interleaved rounds x {args.epochs} epochs"
        )
        print(
            "| batch | precision | convwise | plain PyTorch | Keras/TF | convwise / Keras (best) | (median) "
            f"| plain PyTorch / Keras | goal >= {GOAL}x | load |"
        )
        print("|---:|---|---:|---:|---:|---:|---:|---:|:---:|---:|")
        for row in out["throughput"]:
            a = row["all"]
            best = {s: max(v) for s, v in a.items()}
            med = {s: statistics.median(v) for s, v in a.items()}
            r = best["convwise"] / best["keras"]
            print(
                f"| {row['batch']} | fp32 | {best['convwise']:,.0f} | {best['pytorch']:,.0f} | "
                f"{best['keras']:,.0f} | {r:.2f}x | {med['convwise'] / med['keras']:.2f}x | "
                f"{best['pytorch'] / best['keras']:.2f}x | {'met' if r >= GOAL else 'not met'} | "
                f"{row['load']:.1f} |"
            )
            if "convwise_bf16" in a:
                rb = best["convwise_bf16"] / best["keras"]
                print(
                    f"| {row['batch']} | **bf16** (autocast; Keras fp32) | {best['convwise_bf16']:,.0f} | | "
                    f"{best['keras']:,.0f} | {rb:.2f}x | {med['convwise_bf16'] / med['keras']:.2f}x | | | |"
                )
    tta = out.get("time_to_accuracy")
    if tta:
        print(
            f"\nTime to {args.target:.1%} test accuracy, seed recipe on Fashion-MNIST "
            "(test scored after each epoch)"
        )
        print(
            "| run | first epoch >= target | training time to it | test accuracy (best val-loss checkpoint) "
            "| epochs | training time |"
        )
        print("|---|---:|---:|---:|---:|---:|")
        names = {
            "keras": "seed's Keras script (TF)",
            "convwise": "convwise train --recipe seed",
            "convwise_bf16": "convwise train --recipe seed --precision bf16",
        }
        for key, res in tta.items():
            hit = first_hit(res["history"], args.target)
            at = f"{hit['epoch']}" if hit else "never"
            secs = f"{hit['elapsed']:.0f} s" if hit else "-"
            print(
                f"| {names[key]} | {at} | {secs} | {res['test_accuracy']:.2%} | {len(res['history'])} | "
                f"{res['seconds']:.0f} s |"
            )
        for key, res in tta.items():
            accs = ", ".join(f"{r['test_accuracy']:.4f}" for r in res["history"])
            print(f"{key}: per-epoch test accuracy {accs}")


if __name__ == "__main__":
    sys.exit(main())
