"""What each of convwise's training fusions buys: the seed CNN's step with each switched off, side by side.

Sides (each measured in a process of its own, rounds interleaved so that load hits all alike):
- `all`: the trainer's default (`convwise.layers.fast.use_fast_layers_`);
- `no-pool-fusion`: without `fuse_conv_pool_` (pointwise conv + SELU, then a separate max pool);
- `mm`: also without convwise's matrix-multiply kernels (the products as `torch.mm`, the bias and SELU
  in a second pass, the backward as three passes) — the state before 2026-12-02.

Prints images/s (best and median of the rounds, each the best of 3 × N steps) and the ratios to `mm`,
with the CPU model and flags. Figures: docs/training.md ("Speed on a CPU").

    python bench/train_fusions.py --batch-sizes 32 128 --rounds 4
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

SIDES = ("all", "no-pool-fusion", "mm")


def measure(side: str, batch: int) -> float:
    """Images/s of the training step for `side` (in this process)."""
    from convwise.cli.cmd_train import choose_openmp_wait

    choose_openmp_wait()  # as `convwise train`, before torch loads
    import torch

    import convwise.layers.fast as fast
    from convwise.deploy.optimized import tune_allocator
    from convwise.models import build
    from convwise.train.recipes import get_recipe
    from convwise.train.step import TrainStep

    tune_allocator()
    if side in ("no-pool-fusion", "mm"):
        fast.fuse_conv_pool_ = lambda model: 0  # type: ignore[assignment]
    if side == "mm":
        fast._native_product = lambda *args, **kwargs: None  # type: ignore[assignment]
        fast._native_backward = lambda *args, **kwargs: None  # type: ignore[assignment]
    torch.manual_seed(0)
    model = build(get_recipe("seed").model).to(memory_format=torch.channels_last)
    fast.use_fast_layers_(model)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7, fused=True)
    step = TrainStep(model, optimizer, batch_size=batch)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(batch, 1, 28, 28, generator=g).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (batch,), generator=g)
    steps = max(10, 1280 // batch)
    for _ in range(steps):
        step(x, y)
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        for _ in range(steps):
            step(x, y)
        best = min(best, (time.perf_counter() - t) / steps)
    return batch / best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[32, 128])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--worker", nargs=2, metavar=("SIDE", "BATCH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(measure(args.worker[0], int(args.worker[1]))))
        return 0
    from convwise.machine import cpu_flags, cpu_model

    wanted = ("avx2", "avx512f", "avx512_bf16", "amx_bf16")
    flags = " ".join(f for f in wanted if f in cpu_flags())
    print(f"CPU: {cpu_model()} (flags: {flags or '-'}); load {os.getloadavg()[0]:.1f}")
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    for batch in args.batch_sizes:
        runs: dict[str, list[float]] = {side: [] for side in SIDES}
        for _ in range(args.rounds):
            for side in SIDES:
                cmd = [sys.executable, __file__, "--worker", side, str(batch)]
                out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env)
                runs[side].append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(f"\nbatch {batch}: images/s, best / median of {args.rounds} interleaved rounds")
        print("| side | best | median | best / mm | median / mm |")
        print("|---|---:|---:|---:|---:|")
        base_best, base_med = max(runs["mm"]), statistics.median(runs["mm"])
        for side in SIDES:
            best, med = max(runs[side]), statistics.median(runs[side])
            print(f"| {side} | {best:,.0f} | {med:,.0f} | {best / base_best:.2f}x | {med / base_med:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
