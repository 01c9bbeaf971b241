"""Scoring a model on a split: loss, accuracy, per-class accuracy and the confusion matrix."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from convwise.train.distributed import DistContext


@dataclass
class Scores:
    """Loss, accuracy and confusion matrix (rows: true class, columns: predicted class)."""

    loss: float
    accuracy: float
    count: int
    confusion: torch.Tensor

    def per_class_accuracy(self) -> list[float]:
        """Recall of each class (diagonal / row sum)."""
        rows = self.confusion.sum(dim=1).clamp(min=1)
        return (self.confusion.diag().to(torch.float64) / rows).tolist()

    def as_dict(self, classes: tuple[str, ...] | list[str] = ()) -> dict[str, Any]:
        """JSON form."""
        names = list(classes) or [str(i) for i in range(self.confusion.shape[0])]
        return {
            "loss": self.loss,
            "accuracy": self.accuracy,
            "count": self.count,
            "per_class_accuracy": dict(zip(names, self.per_class_accuracy(), strict=False)),
            "confusion_matrix": self.confusion.tolist(),
        }


def score(
    model: torch.nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    num_classes: int,
    batch_size: int = 256,
    ctx: DistContext | None = None,
    channels_last: bool = False,
) -> Scores:
    """Evaluate `model` on (x, y) in eval mode without gradients; restores the previous mode.

    Under torchrun each process scores its shard (`rank::world_size`) and the sums are all-reduced.

    Returns:
        The scores over the whole split.
    """
    ctx = ctx or DistContext()
    if ctx.enabled:
        x, y = x[ctx.rank :: ctx.world_size], y[ctx.rank :: ctx.world_size]
    was_training = model.training
    model.eval()
    loss_sum = torch.zeros((), dtype=torch.float64)
    confusion = torch.zeros(num_classes * num_classes, dtype=torch.int64)
    with torch.inference_mode():
        for start in range(0, x.shape[0], batch_size):
            xb = x[start : start + batch_size]
            if channels_last:
                xb = xb.contiguous(memory_format=torch.channels_last)
            yb = y[start : start + batch_size]
            logits = model(xb)
            loss_sum += F.cross_entropy(logits, yb, reduction="sum").to(torch.float64)
            pred = logits.argmax(dim=1)
            confusion += torch.bincount(yb * num_classes + pred, minlength=num_classes * num_classes)
    model.train(was_training)
    packed = torch.cat([loss_sum.reshape(1), confusion.to(torch.float64)])
    ctx.all_reduce_sum(packed)
    confusion = packed[1:].round().to(torch.int64).reshape(num_classes, num_classes)
    count = int(confusion.sum())
    correct = int(confusion.diag().sum())
    return Scores(
        loss=float(packed[0]) / max(count, 1),
        accuracy=correct / max(count, 1),
        count=count,
        confusion=confusion,
    )


__all__ = ["Scores", "score"]
