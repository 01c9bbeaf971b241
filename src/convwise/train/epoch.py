"""One training epoch: the order of the images, the learning-rate schedule, and the optimisation steps."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from convwise.train.console import ProgressBar
from convwise.train.distributed import DistContext
from convwise.train.recipes import TrainConfig


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
    net: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
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
    net.train()
    loss_sum = torch.zeros((), dtype=torch.float64)
    correct = torch.zeros((), dtype=torch.int64)
    seen = 0
    bar = ProgressBar(console, f"epoch {epoch}/{config.epochs}", steps)
    with bar:
        for step in range(steps):
            idx = perm[step * local_bs : (step + 1) * local_bs]
            xb, yb = x[idx], y[idx]
            if config.flip:
                mask = torch.rand(xb.shape[0], generator=aug) < 0.5
                xb = torch.where(mask[:, None, None, None], xb.flip(3), xb)
            if config.channels_last:
                xb = xb.contiguous(memory_format=torch.channels_last)
            logits = net(xb)
            loss = F.cross_entropy(logits, yb, label_smoothing=config.label_smoothing)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            with torch.no_grad():
                loss_sum += loss.detach().to(torch.float64) * yb.shape[0]
                correct += (logits.argmax(1) == yb).sum()
            seen += yb.shape[0]
            if bar.active and (step % 25 == 24 or step == steps - 1):
                bar.update(step + 1, float(loss_sum) / seen, int(correct) / seen)
    totals = torch.stack(
        [loss_sum, correct.to(torch.float64), torch.tensor(float(seen), dtype=torch.float64)]
    )
    ctx.all_reduce_sum(totals)
    return {
        "train_loss": float(totals[0] / totals[2]),
        "train_accuracy": float(totals[1] / totals[2]),
        "lr": float(optimizer.param_groups[0]["lr"]),
    }


__all__ = ["epoch_order", "epoch_seed", "lr_lambda", "run_epoch"]
