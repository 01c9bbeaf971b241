"""One training epoch: the order of the images, the learning-rate schedule, and the optimisation steps."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

from convwise.train.console import ProgressBar
from convwise.train.distributed import DistContext
from convwise.train.recipes import TrainConfig
from convwise.train.step import TrainStep


def lr_lambda(config: TrainConfig, steps_per_epoch: int) -> Callable[[int], float]:
    """The multiplier of the peak learning rate at each step (for `LambdaLR`): constant, or warm-up + cosine.

    >>> fn = lr_lambda(TrainConfig(schedule="cosine", epochs=1), steps_per_epoch=4)
    >>> [round(fn(step), 3) for step in range(5)]
    [1.0, 0.854, 0.5, 0.146, 0.0]
    """
    total = max(1, config.epochs * steps_per_epoch)
    warm = int(config.warmup_epochs * steps_per_epoch)

    def fn(step: int) -> float:
        if config.schedule == "constant":
            return 1.0
        if step < warm:
            return (step + 1) / warm
        progress = min(1.0, (step - warm) / max(1, total - warm))
        return 0.5 * (1.0 + math.cos(math.pi * progress))

    return fn


def epoch_seed(seed: int, epoch: int, stream: int) -> int:
    """The seed of one random stream (0: shuffling, 1 + rank: augmentation) of one epoch.

    Seeded by (seed, epoch) rather than drawn from a running generator, so a resumed run draws exactly
    what an uninterrupted one would.

    >>> epoch_seed(42, 1, 0) == epoch_seed(42, 1, 0) != epoch_seed(42, 2, 0)
    True
    """
    return (seed * 1_000_003 + epoch * 7919 + stream) % (2**63 - 1)


def epoch_order(n: int, config: TrainConfig, ctx: DistContext, epoch: int) -> torch.Tensor:
    """This process's image indices for `epoch`: a seeded permutation, sharded `rank::world_size`.

    >>> epoch_order(8, TrainConfig(), DistContext(), 1).sort().values.tolist()
    [0, 1, 2, 3, 4, 5, 6, 7]
    """
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(epoch_seed(config.seed, epoch, 0)))
    if ctx.enabled:
        per_rank = n // ctx.world_size
        perm = perm[: per_rank * ctx.world_size][ctx.rank :: ctx.world_size]
    return perm


def run_epoch(
    step: TrainStep,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    x: torch.Tensor,
    y: torch.Tensor,
    config: TrainConfig,
    ctx: DistContext,
    epoch: int,
    local_bs: int,
    steps: int,
    console: Any,
) -> dict[str, Any]:
    """One pass over the (sharded) training set; returns train loss/accuracy and the last lr."""
    perm = epoch_order(x.shape[0], config, ctx, epoch)
    aug = torch.Generator().manual_seed(epoch_seed(config.seed, epoch, 1 + ctx.rank))
    step.net.train()
    step.reset()
    bar = ProgressBar(console, f"epoch {epoch}/{config.epochs}", steps)
    with bar:
        for i in range(steps):
            idx = perm[i * local_bs : (i + 1) * local_bs]
            xb, yb = x[idx], y[idx]
            if config.flip:
                mask = torch.rand(xb.shape[0], generator=aug) < 0.5
                xb = torch.where(mask[:, None, None, None], xb.flip(3), xb)
            if config.channels_last:
                xb = xb.contiguous(memory_format=torch.channels_last)
            step(xb, yb)
            scheduler.step()
            if bar.active and (i % 25 == 24 or i == steps - 1):
                bar.update(i + 1, float(step.loss_sum) / step.seen, int(step.correct) / step.seen)
    totals = ctx.all_reduce_sum(step.totals())
    return {
        "train_loss": float(totals[0] / totals[2]),
        "train_accuracy": float(totals[1] / totals[2]),
        "lr": float(step.optimizer.param_groups[0]["lr"]),
    }


__all__ = ["epoch_order", "epoch_seed", "lr_lambda", "run_epoch"]
