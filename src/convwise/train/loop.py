"""The training loop: epochs over in-memory tensors, validation, early stopping, checkpoints and resume."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from convwise.core.errors import ConfigError, config_error
from convwise.train.checkpoint import (
    RESUME_FORMAT,
    atomic_save,
    atomic_write_text,
    build_model,
    read_checkpoint,
    save_checkpoint,
)
from convwise.train.distributed import DistContext, available_cpus, init_distributed
from convwise.train.evaluate import score
from convwise.train.logs import TensorBoardLog, plot_confusion, plot_curves, write_csv
from convwise.train.recipes import TrainConfig

CONFIG_FILE = "config.json"
BEST_FILE = "best.pt"
LAST_FILE = "last.pt"
RESULTS_FILE = "results.json"


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
    """Keras' EarlyStopping on val loss: stop after `patience` epochs without a `min_delta` decrease."""

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
    """What `last.pt` holds besides tensors: the progress of the run."""

    epoch: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)
    best_val_loss: float = math.inf
    best_epoch: int = 0
    finished: bool = False
    seconds: float = 0.0


def default_run_dir(config: TrainConfig, root: str | Path = "runs") -> Path:
    """A new folder `runs/<model>-<dataset>-<recipe>-<timestamp>` (suffixed if it exists)."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    name = Path(config.model.split(":")[-1]).name.replace(".py", "")
    base = Path(root) / f"{name}-{config.dataset}-{config.recipe}-{stamp}"
    path, i = base, 1
    while path.exists():
        i += 1
        path = Path(f"{base}-{i}")
    return path


def _lr_lambda(config: TrainConfig, steps_per_epoch: int) -> Callable[[int], float]:
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


def _epoch_seed(seed: int, epoch: int, stream: int) -> int:
    return (seed * 1_000_003 + epoch * 7919 + stream) % (2**63 - 1)


def _set_threads(config: TrainConfig, ctx: DistContext) -> int:
    threads = config.threads or max(1, available_cpus() // max(1, ctx.local_world_size))
    torch.set_num_threads(threads)
    return threads


def _prepare_run_dir(
    config: TrainConfig, run_dir: str | Path | None, resume: str | Path | None, ctx: DistContext
) -> tuple[Path, TrainConfig, dict[str, Any] | None]:
    """Resolve the run directory and config; with `resume`, read config.json and last.pt from it."""
    if resume is not None:
        run = Path(resume)
        cfg_path = run / CONFIG_FILE
        if not cfg_path.is_file():
            raise config_error("`resume` must be a run directory holding config.json.", resume=str(run))
        config = TrainConfig.from_dict(json.loads(cfg_path.read_text()))
        state = (
            read_checkpoint(run / LAST_FILE, expected_format=RESUME_FORMAT)
            if (run / LAST_FILE).is_file()
            else None
        )
        return run, config, state
    if run_dir is None:
        run = default_run_dir(config)
        if ctx.enabled:  # every rank must use rank 0's folder name
            import torch.distributed as dist

            holder = [str(run)]
            dist.broadcast_object_list(holder, src=0)
            run = Path(holder[0])
    else:
        run = Path(run_dir)
        if (run / LAST_FILE).exists() or (run / BEST_FILE).exists():
            raise config_error(
                "`run_dir` already holds a run; continue it with --resume or choose another folder.",
                run_dir=str(run),
            )
    if ctx.is_main:
        run.mkdir(parents=True, exist_ok=True)
        atomic_write_text(json.dumps(config.to_dict(), indent=2) + "\n", run / CONFIG_FILE)
    ctx.barrier()
    return run, config, None


def train(
    config: TrainConfig,
    *,
    run_dir: str | Path | None = None,
    resume: str | Path | None = None,
    data_dir: str | Path | None = None,
    download: bool | None = None,
    console: Any = None,
    progress: bool = True,
    tensorboard: bool = True,
    plots: bool = True,
    track_test: bool = False,
    max_epochs_this_call: int | None = None,
    ctx: DistContext | None = None,
) -> dict[str, Any]:
    """Train `config.model` on `config.dataset`, writing everything into one run directory.

    Args:
        config: the recipe (ignored with `resume`: the run's own config.json is used).
        run_dir: output folder (default: a new folder under `runs/`).
        resume: a run directory to continue from its last completed epoch.
        data_dir: explicit data folder (see `convwise.data.locate_dataset`).
        download: allow downloading the data set.
        console: a rich Console for human output (default: stdout).
        progress: show progress bars.
        tensorboard: write TensorBoard scalars when the package is installed.
        plots: write learning curves / confusion matrix PNGs when matplotlib is installed.
        track_test: also score the test set after every epoch (monitoring only, never for selection).
        max_epochs_this_call: stop (as if killed) after this many epochs; for tests of resume.
        ctx: distributed context (default: from the torchrun environment).

    Returns:
        The results (also written to `results.json`): test_accuracy, test_loss, epochs_run, best_epoch,
        seconds, run_dir, per-class accuracy, confusion matrix, ...

    Raises:
        ConfigError: bad config, data not found, or a damaged resume file.
        TrainingInterrupted: Ctrl-C; the run can be resumed.
    """
    from rich.console import Console

    from convwise.data import load_raw, make_splits

    ctx = ctx or init_distributed()
    config.validate()
    run, config, resume_state = _prepare_run_dir(config, run_dir, resume, ctx)
    console = console or Console()
    say = _sayer(console, ctx)
    threads = _set_threads(config, ctx)
    if config.batch_size % ctx.world_size:
        raise config_error(
            "`batch_size` (global) must be divisible by the number of processes.",
            batch_size=config.batch_size,
            world_size=ctx.world_size,
        )
    local_bs = config.batch_size // ctx.world_size

    raw = load_raw(config.dataset, data_dir, download=download)
    splits = make_splits(
        raw, val_size=config.val_size, train_subset=config.train_subset, test_subset=config.test_subset
    )
    num_classes = len(splits.classes)
    input_shape = tuple(splits.x_train.shape[1:])
    say(
        f"[bold]convwise train[/bold] {config.model} on {splits.dataset} (recipe {config.recipe}): "
        f"{len(splits.y_train):,} train / {len(splits.y_val):,} validation / "
        f"{len(splits.y_test):,} test images "
        f"from {raw.folder}; {ctx.world_size} process(es) x {threads} thread(s); run dir {run}"
    )

    torch.manual_seed(config.seed)
    model = build_model(config.model, config.model_config)
    if not isinstance(model, torch.nn.Module):
        raise config_error("`model` must build a torch.nn.Module.", model=config.model)
    if resume_state is None and ctx.is_main:
        from convwise.profile import profile

        model.eval()  # inference costs in the summary; the model is fresh, so nothing else changes
        report = profile(model, input_shape, name=config.model)
        model.train()
        text = report.render(width=max(console.width, 120)).rstrip()
        console.print(text, markup=False, highlight=False, soft_wrap=True)
    if config.channels_last:
        model = model.to(memory_format=torch.channels_last)
    net: torch.nn.Module = model
    if ctx.enabled:
        from torch.nn.parallel import DistributedDataParallel

        net = DistributedDataParallel(model)

    opt_cls = torch.optim.AdamW if config.weight_decay > 0 else torch.optim.Adam
    optimizer = opt_cls(
        model.parameters(), lr=config.lr, eps=config.adam_eps, weight_decay=config.weight_decay
    )
    n_train = splits.x_train.shape[0]
    per_rank = n_train // ctx.world_size
    steps_per_epoch = math.ceil(per_rank / local_bs)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _lr_lambda(config, steps_per_epoch))
    stopper = EarlyStopping(config.patience, config.min_delta)
    state = TrainState()
    if resume_state is not None:
        model.load_state_dict(resume_state["model_state"])
        optimizer.load_state_dict(resume_state["optimizer"])
        scheduler.load_state_dict(resume_state["scheduler"])
        stopper.load_state_dict(resume_state["early_stopping"])
        torch.set_rng_state(resume_state["torch_rng"])
        p = resume_state["progress"]
        state = TrainState(
            epoch=int(p["epoch"]),
            history=list(p["history"]),
            best_val_loss=float(p["best_val_loss"]),
            best_epoch=int(p["best_epoch"]),
            finished=bool(p["finished"]),
            seconds=float(p["seconds"]),
        )
        say(
            f"Resuming {run} after epoch {state.epoch} "
            f"(best val loss {state.best_val_loss:.4f} at epoch {state.best_epoch})."
        )
    elif resume is not None:
        say(f"Resuming {run}: no completed epoch was saved, starting from epoch 1.")

    tb = TensorBoardLog(
        run / "tensorboard",
        purge_step=state.epoch + 1 if state.epoch else None,
        enabled=tensorboard and ctx.is_main,
    )
    if tb.note:
        say(f"[yellow]{tb.note}[/yellow]")

    def save_last() -> None:
        if not ctx.is_main:
            return
        atomic_save(
            {
                "format": RESUME_FORMAT,
                "model_state": {k: v.detach().clone() for k, v in model.state_dict().items()},
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "early_stopping": stopper.state_dict(),
                "torch_rng": torch.get_rng_state(),
                "progress": {
                    "epoch": state.epoch,
                    "history": state.history,
                    "best_val_loss": state.best_val_loss,
                    "best_epoch": state.best_epoch,
                    "finished": state.finished,
                    "seconds": state.seconds,
                },
            },
            run / LAST_FILE,
        )

    ckpt_common = {
        "model_name": config.model,
        "model_config": config.model_config,
        "normalization": splits.normalization.as_dict(),
        "dataset": splits.dataset,
        "classes": splits.classes,
        "input_shape": input_shape,
    }
    epochs_this_call = 0
    try:
        while not state.finished and state.epoch < config.epochs:
            if max_epochs_this_call is not None and epochs_this_call >= max_epochs_this_call:
                break
            epoch = state.epoch + 1
            t0 = time.perf_counter()
            row = _run_epoch(
                net,
                optimizer,
                scheduler,
                splits.x_train,
                splits.y_train,
                config,
                ctx,
                epoch,
                local_bs,
                steps_per_epoch,
                console if (progress and ctx.is_main) else None,
            )
            val = score(
                net,
                splits.x_val,
                splits.y_val,
                num_classes=num_classes,
                ctx=ctx,
                channels_last=config.channels_last,
            )
            row.update(epoch=epoch, val_loss=val.loss, val_accuracy=val.accuracy)
            if track_test:
                test_now = score(
                    net,
                    splits.x_test,
                    splits.y_test,
                    num_classes=num_classes,
                    ctx=ctx,
                    channels_last=config.channels_last,
                )
                row["test_accuracy"] = test_now.accuracy
            row["seconds"] = time.perf_counter() - t0
            state.seconds += row["seconds"]
            row["elapsed"] = state.seconds
            state.history.append(row)
            improved = val.loss < state.best_val_loss  # ModelCheckpoint(save_best_only) semantics
            if improved:
                state.best_val_loss, state.best_epoch = val.loss, epoch
                if ctx.is_main:
                    save_checkpoint(
                        run / BEST_FILE,
                        model,
                        epoch=epoch,
                        metrics=_metrics(row),
                        **ckpt_common,
                        extra={"recipe": config.to_dict()},
                    )
            stop = stopper.update(val.loss, epoch)
            state.epoch = epoch
            state.finished = stop or epoch >= config.epochs
            save_last()
            if ctx.is_main:
                write_csv(state.history, run / "metrics.csv")
                tb.log(row)
            extra = f"  test_acc {row['test_accuracy']:.4f}" if track_test else ""
            say(
                f"epoch {epoch}/{config.epochs}  loss {row['train_loss']:.4f}  "
                f"acc {row['train_accuracy']:.4f}  "
                f"val_loss {val.loss:.4f}  val_acc {val.accuracy:.4f}{extra}  lr {row['lr']:.2e}  "
                f"{row['seconds']:.1f}s" + ("  [green]saved best[/green]" if improved else "")
            )
            if stop:
                say(
                    f"Early stopping: val loss did not improve by {config.min_delta} "
                    f"for {config.patience} epochs."
                )
            epochs_this_call += 1
            ctx.barrier()
    except KeyboardInterrupt:
        tb.close()
        raise TrainingInterrupted(run, state.epoch) from None
    tb.close()
    if not state.finished:
        return {"run_dir": str(run), "epochs_run": state.epoch, "finished": False}
    return _finish(model, run, config, splits, state, ctx, console, plots=plots)


def _sayer(console: Any, ctx: DistContext) -> Callable[..., None]:
    """Print one line of text on rank 0 only, never wrapped (log files stay greppable)."""

    def say(*args: Any, **kwargs: Any) -> None:
        if ctx.is_main:
            console.print(*args, soft_wrap=True, **kwargs)
            flush = getattr(console.file, "flush", None)
            if flush is not None:
                flush()

    return say


def _metrics(row: dict[str, Any]) -> dict[str, float]:
    return {k: float(row[k]) for k in ("train_loss", "train_accuracy", "val_loss", "val_accuracy")}


def _run_epoch(
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
    n = x.shape[0]
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(_epoch_seed(config.seed, epoch, 0)))
    if ctx.enabled:
        per_rank = n // ctx.world_size
        perm = perm[: per_rank * ctx.world_size][ctx.rank :: ctx.world_size]
    aug = torch.Generator().manual_seed(_epoch_seed(config.seed, epoch, 1 + ctx.rank))
    net.train()
    loss_sum = torch.zeros((), dtype=torch.float64)
    correct = torch.zeros((), dtype=torch.int64)
    seen = 0
    bar = _Bar(console, f"epoch {epoch}/{config.epochs}", steps)
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


class _Bar:
    """A rich progress bar with loss / accuracy / ETA, or nothing when `console` is None."""

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

    def __enter__(self) -> _Bar:
        if self.progress is not None:
            self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.stop()

    def update(self, completed: int, loss: float, acc: float) -> None:
        self.progress.update(self.task, completed=completed, loss=loss, acc=acc)


def _finish(
    model: torch.nn.Module,
    run: Path,
    config: TrainConfig,
    splits: Any,
    state: TrainState,
    ctx: DistContext,
    console: Any,
    *,
    plots: bool,
) -> dict[str, Any]:
    """Score the best checkpoint on the test set; write results.json, plots; print the report."""
    say = _sayer(console, ctx)
    best = read_checkpoint(run / BEST_FILE) if ctx.is_main or (run / BEST_FILE).is_file() else None
    if best is None:  # pragma: no cover - other ranks on a non-shared file system
        raise ConfigError(f"best checkpoint missing in {run}")
    model.load_state_dict(best["state_dict"])
    num_classes = len(splits.classes)
    test = score(
        model,
        splits.x_test,
        splits.y_test,
        num_classes=num_classes,
        ctx=ctx,
        channels_last=config.channels_last,
    )
    early = state.history[-1]["epoch"] < config.epochs
    results: dict[str, Any] = {
        "test_accuracy": test.accuracy,
        "test_loss": test.loss,
        "epochs_run": state.epoch,
        "best_epoch": state.best_epoch,
        "best_val_loss": state.best_val_loss,
        "best_val_accuracy": next(r["val_accuracy"] for r in state.history if r["epoch"] == state.best_epoch),
        "early_stopped": early,
        "seconds": state.seconds,
        "run_dir": str(run),
        "model": config.model,
        "dataset": splits.dataset,
        "recipe": config.recipe,
        "world_size": ctx.world_size,
        "checkpoint": str(run / BEST_FILE),
        "test": test.as_dict(splits.classes),
    }
    if ctx.is_main:
        atomic_write_text(json.dumps(results, indent=2) + "\n", run / RESULTS_FILE)
        if plots:
            curves = plot_curves(
                state.history,
                run / "curves.png",
                title=f"{config.model} on {splits.dataset} ({config.recipe} recipe)",
            )
            plot_confusion(
                test.confusion.tolist(),
                list(splits.classes),
                run / "confusion.png",
                title=f"test confusion matrix, accuracy {test.accuracy:.2%}",
            )
            if curves is None:
                say(
                    '[yellow]Plots skipped: install matplotlib with pip install "convwise\\[train]".[/yellow]'
                )
        print_test_report(results, console)
    return results


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


def list_run_dir(run: str | Path) -> list[str]:
    """The files of a run directory (relative paths), for reports."""
    run = Path(run)
    return sorted(str(p.relative_to(run)) for p in run.rglob("*") if p.is_file())


__all__ = [
    "BEST_FILE",
    "CONFIG_FILE",
    "LAST_FILE",
    "RESULTS_FILE",
    "EarlyStopping",
    "TrainingInterrupted",
    "default_run_dir",
    "list_run_dir",
    "print_test_report",
    "train",
]
