"""What a run shows a person: one-line messages on rank 0, progress bars, the test report tables."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from convwise.train.distributed import DistContext


def sayer(console: Any, ctx: DistContext) -> Callable[..., None]:
    """A function printing one line of text on rank 0 only, never wrapped (log files stay greppable).

    >>> import io
    >>> from rich.console import Console
    >>> out = io.StringIO()
    >>> sayer(Console(file=out), DistContext())("epoch 1/10")
    >>> out.getvalue()
    'epoch 1/10\\n'
    """

    def say(*args: Any, **kwargs: Any) -> None:
        if ctx.is_main:
            console.print(*args, soft_wrap=True, **kwargs)
            flush = getattr(console.file, "flush", None)
            if flush is not None:
                flush()

    return say


class ProgressBar:
    """A rich progress bar with loss / accuracy / ETA, or nothing when `console` is None.

    >>> with ProgressBar(None, "epoch 1/1", 10) as bar:
    ...     bar.active
    False
    """

    def __init__(self, console: Any, label: str, total: int) -> None:
        self.active = console is not None
        self.progress: Any = None
        if not self.active:
            return
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]:.4f} acc {task.fields[acc]:.4f}"),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self.task = self.progress.add_task(label, total=total, loss=float("nan"), acc=float("nan"))

    def __enter__(self) -> ProgressBar:
        if self.progress is not None:
            self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.stop()

    def update(self, completed: int, loss: float, acc: float) -> None:
        """Show `completed` steps and the running loss and accuracy."""
        self.progress.update(self.task, completed=completed, loss=loss, acc=acc)


def epoch_line(row: dict[str, Any], epochs: int, *, improved: bool) -> str:
    """The line printed after an epoch.

    >>> row = {"epoch": 1, "train_loss": 0.5, "train_accuracy": 0.8, "val_loss": 0.4,
    ...        "val_accuracy": 0.85, "lr": 1e-3, "seconds": 12.3}
    >>> epoch_line(row, 10, improved=False)
    'epoch 1/10  loss 0.5000  acc 0.8000  val_loss 0.4000  val_acc 0.8500  lr 1.00e-03  12.3s'
    """
    extra = f"  test_acc {row['test_accuracy']:.4f}" if "test_accuracy" in row else ""
    return (
        f"epoch {row['epoch']}/{epochs}  loss {row['train_loss']:.4f}  "
        f"acc {row['train_accuracy']:.4f}  "
        f"val_loss {row['val_loss']:.4f}  val_acc {row['val_accuracy']:.4f}{extra}  lr {row['lr']:.2e}  "
        f"{row['seconds']:.1f}s" + ("  [green]saved best[/green]" if improved else "")
    )


def print_test_report(results: dict[str, Any], console: Any) -> None:
    """Per-class accuracy and confusion matrix tables, then the headline numbers."""
    from rich.table import Table

    test = results["test"]
    names = list(test["per_class_accuracy"])
    table = Table(
        title="Test set: per-class accuracy and confusion matrix (rows true, columns predicted)",
        title_justify="left",
    )
    table.add_column("class")
    table.add_column("accuracy", justify="right")
    for i in range(len(names)):
        table.add_column(str(i), justify="right")
    for i, name in enumerate(names):
        table.add_row(
            f"{i} {name}",
            f"{test['per_class_accuracy'][name]:.2%}",
            *(str(v) for v in test["confusion_matrix"][i]),
        )
    console.print(table)
    if "epochs_run" in results:
        console.print(
            f"[bold]test accuracy {results['test_accuracy']:.2%}[/bold]  "
            f"test loss {results['test_loss']:.4f}  "
            f"best epoch {results['best_epoch']} of {results['epochs_run']}  "
            f"training time {results['seconds']:.0f}s  run dir {results['run_dir']}"
        )


__all__ = ["ProgressBar", "epoch_line", "print_test_report", "sayer"]
