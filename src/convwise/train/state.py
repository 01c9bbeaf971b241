"""The progress of a run that `last.pt` carries besides tensors: epochs, history, best, early stopping."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


class TrainingInterrupted(Exception):
    """Raised after Ctrl-C once the run directory holds everything needed to resume."""

    def __init__(self, run_dir: Path, epochs_done: int) -> None:
        super().__init__(
            f"interrupted after {epochs_done} completed epoch(s); "
            f"resume with: convwise train --resume {run_dir}"
        )
        self.run_dir = run_dir
        self.epochs_done = epochs_done


@dataclass
class EarlyStopping:
    """Keras' EarlyStopping on val loss: stop after `patience` epochs without a `min_delta` decrease.

    >>> stopper = EarlyStopping(patience=1, min_delta=0.0)
    >>> [stopper.update(loss, epoch) for epoch, loss in enumerate([0.5, 0.4, 0.45], start=1)]
    [False, False, True]
    """

    patience: int
    min_delta: float
    best: float = math.inf
    wait: int = 0
    stopped_epoch: int | None = None

    def update(self, val_loss: float, epoch: int) -> bool:
        """Record one epoch; returns True when training should stop."""
        if val_loss < self.best - self.min_delta:
            self.best = val_loss
            self.wait = 0
            return False
        self.wait += 1
        if self.patience > 0 and self.wait >= self.patience:
            self.stopped_epoch = epoch
            return True
        return False

    def state_dict(self) -> dict[str, Any]:
        """Plain-dict state (for `last.pt`)."""
        return {"best": self.best, "wait": self.wait, "stopped_epoch": self.stopped_epoch}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore from `state_dict()`."""
        self.best, self.wait, self.stopped_epoch = (
            float(state["best"]),
            int(state["wait"]),
            state["stopped_epoch"],
        )


@dataclass
class TrainState:
    """Where a run stands: completed epochs, their metrics, the best epoch so far, time spent.

    >>> state = TrainState(epoch=2, best_val_loss=0.3, best_epoch=2)
    >>> TrainState.from_dict(state.to_dict()) == state
    True
    """

    epoch: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)
    best_val_loss: float = math.inf
    best_epoch: int = 0
    finished: bool = False
    seconds: float = 0.0

    def record(self, row: dict[str, Any]) -> bool:
        """Append one epoch's row (with `epoch`, `val_loss`, `seconds`); True if its val loss is the best.

        Best means strictly lower than every earlier epoch's (Keras ModelCheckpoint `save_best_only`).
        """
        self.seconds += row["seconds"]
        row["elapsed"] = self.seconds
        self.history.append(row)
        self.epoch = int(row["epoch"])
        if row["val_loss"] < self.best_val_loss:
            self.best_val_loss, self.best_epoch = row["val_loss"], self.epoch
            return True
        return False

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict form (the `progress` entry of `last.pt`)."""
        return asdict(self)

    @staticmethod
    def from_dict(p: dict[str, Any]) -> TrainState:
        """Inverse of `to_dict`."""
        return TrainState(
            epoch=int(p["epoch"]),
            history=list(p["history"]),
            best_val_loss=float(p["best_val_loss"]),
            best_epoch=int(p["best_epoch"]),
            finished=bool(p["finished"]),
            seconds=float(p["seconds"]),
        )


__all__ = ["EarlyStopping", "TrainState", "TrainingInterrupted"]
