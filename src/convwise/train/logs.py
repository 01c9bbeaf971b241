"""Run-directory outputs: CSV log, TensorBoard scalars (optional), learning-curve and confusion PNGs."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from convwise.fileio import atomic_path
from convwise.train.checkpoint import atomic_write_text

CSV_FIELDS = ("epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr", "seconds")


def write_csv(history: list[dict[str, Any]], path: Path) -> Path:
    """Rewrite the per-epoch CSV log from `history` (atomic, so a resumed run never has duplicates)."""
    buf = io.StringIO()
    fields = list(CSV_FIELDS) + [k for k in ("test_accuracy", "elapsed") if history and k in history[0]]
    writer = csv.DictWriter(buf, fieldnames=fields, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in history:
        writer.writerow(row)
    return atomic_write_text(buf.getvalue(), path)


class TensorBoardLog:
    """Scalars for TensorBoard when the `tensorboard` package is installed; otherwise says so once, no-op."""

    def __init__(self, folder: Path, *, purge_step: int | None = None, enabled: bool = True) -> None:
        self.writer: Any = None
        self.note: str | None = None
        if not enabled:
            return
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            self.note = (
                'TensorBoard logging skipped: install the extra with pip install "convwise\\[tensorboard]".'
            )
            return
        self.writer = SummaryWriter(log_dir=str(folder), purge_step=purge_step)

    def log(self, row: dict[str, Any]) -> None:
        """Write one epoch's scalars."""
        if self.writer is None:
            return
        step = int(row["epoch"])
        for key in ("train_loss", "val_loss"):
            self.writer.add_scalar(f"loss/{key.split('_')[0]}", row[key], step)
        for key in ("train_accuracy", "val_accuracy"):
            self.writer.add_scalar(f"accuracy/{key.split('_')[0]}", row[key], step)
        self.writer.add_scalar("lr", row["lr"], step)
        self.writer.flush()

    def close(self) -> None:
        """Flush and close."""
        if self.writer is not None:
            self.writer.close()


def plot_curves(history: list[dict[str, Any]], path: Path, *, title: str = "") -> Path | None:
    """Learning curves (loss, accuracy; train and validation, per epoch) as a PNG; None without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    if not history:
        return None
    epochs = [r["epoch"] for r in history]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    best = min(history, key=lambda r: r["val_loss"])["epoch"]
    for ax, metric, label in ((axes[0], "loss", "loss"), (axes[1], "accuracy", "accuracy")):
        ax.axvline(best, color="grey", linestyle=":", label=f"best val loss (epoch {best})")
        ax.plot(epochs, [r[f"train_{metric}"] for r in history], "o-", label=f"train {label}")
        ax.plot(epochs, [r[f"val_{metric}"] for r in history], "s-", label=f"validation {label}")
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(True, alpha=0.3)
        ax.legend()
        ax.set_xticks(epochs)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    with atomic_path(path) as tmp:  # creates the folder
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
    return path


def plot_confusion(
    confusion: list[list[int]], classes: list[str], path: Path, *, title: str = ""
) -> Path | None:
    """The test confusion matrix as a PNG (counts in each cell); None without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    n = len(confusion)
    fig, ax = plt.subplots(figsize=(7.5, 6.5))
    im = ax.imshow(confusion, cmap="Blues")
    peak = max(max(row) for row in confusion) or 1
    for i in range(n):
        for j in range(n):
            v = confusion[i][j]
            ax.text(
                j, i, str(v), ha="center", va="center", fontsize=7, color="white" if v > peak / 2 else "black"
            )
    ax.set_xticks(range(n), classes, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(n), classes, fontsize=8)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title or "test confusion matrix")
    fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
    return path


__all__ = ["CSV_FIELDS", "TensorBoardLog", "plot_confusion", "plot_curves", "write_csv"]
