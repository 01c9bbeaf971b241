"""The trainer: a run's stages (set up, start, epochs, finish) as methods to read and test one by one."""

from __future__ import annotations

import math
import os
import time
from pathlib import Path
from typing import Any

import torch

from convwise.core.errors import ConfigError, config_error
from convwise.layers.fast import use_fast_layers_
from convwise.train.checkpoint import (
    RESUME_FORMAT,
    atomic_save,
    build_model,
    read_checkpoint,
    save_checkpoint,
)
from convwise.train.console import epoch_line, print_test_report, sayer
from convwise.train.distributed import DistContext, available_cpus, init_distributed
from convwise.train.epoch import lr_lambda, run_epoch
from convwise.train.evaluate import score
from convwise.train.init import keras_init_
from convwise.train.logs import TensorBoardLog, write_csv
from convwise.train.recipes import TrainConfig
from convwise.train.results import run_results, write_results
from convwise.train.rundir import BEST_FILE, LAST_FILE, create_run_dir, new_run_dir, read_run
from convwise.train.state import EarlyStopping, TrainingInterrupted, TrainState
from convwise.train.step import TrainStep, can_compile, check_precision


class Trainer:
    """One training run of `config.model` on `config.dataset`, written into one run directory.

    The stages, in order: `__init__` resolves everything that can fail (the run folder's name or the run to
    resume, the data, the model, the optimiser) and writes nothing; `start` creates the run folder (or
    restores the resumed state); `fit` runs epochs (`train_epoch`, then `end_epoch`: validation,
    checkpoints, early stopping, logs); `finish` scores the best checkpoint on the test set.
    `train()` runs them all.

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
        ctx: distributed context (default: from the torchrun environment).

    Raises:
        ConfigError: bad config, data not found, a model that cannot be built, or a damaged resume file;
            no run folder is created then.
    """

    def __init__(
        self,
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
        ctx: DistContext | None = None,
    ) -> None:
        from rich.console import Console

        self.ctx = ctx or init_distributed()
        self.resume_state: dict[str, Any] | None = None
        self.resuming = resume is not None
        if resume is not None:
            self.run, self.config, self.resume_state = read_run(resume)
        else:
            self.config = config.validate()
            self.run = new_run_dir(self.config, run_dir, self.ctx)
        check_precision(self.config.precision)
        self.console = console or Console()
        self.say = sayer(self.console, self.ctx)
        self.show_progress, self.tensorboard, self.plots, self.track_test = (
            progress,
            tensorboard,
            plots,
            track_test,
        )
        self.threads = self.set_threads()
        self.local_batch = self.local_batch_size()
        self.load_data(data_dir, download)
        self.build_model()
        self.build_optimizer()
        self.state = TrainState()
        self.tb: TensorBoardLog | None = None

    # ---- set-up: everything that can fail, nothing written -------------------------------------------

    def set_threads(self) -> int:
        """Intra-op threads: `config.threads`, or the CPUs this process may use divided by local processes."""
        threads = self.config.threads or max(1, available_cpus() // max(1, self.ctx.local_world_size))
        torch.set_num_threads(threads)
        return threads

    def local_batch_size(self) -> int:
        """This process's share of the global batch."""
        if self.config.batch_size % self.ctx.world_size:
            raise config_error(
                "`batch_size` (global) must be divisible by the number of processes.",
                batch_size=self.config.batch_size,
                world_size=self.ctx.world_size,
            )
        return self.config.batch_size // self.ctx.world_size

    def load_data(self, data_dir: str | Path | None, download: bool | None) -> None:
        """Find and read the data set; split and standardise it (`self.splits`)."""
        from convwise.data import load_raw, make_splits

        c = self.config
        raw = load_raw(c.dataset, data_dir, download=download)
        self.splits = make_splits(
            raw, val_size=c.val_size, train_subset=c.train_subset, test_subset=c.test_subset
        )
        s = self.splits
        self.say(
            f"[bold]convwise train[/bold] {c.model} on {s.dataset} (recipe {c.recipe}): "
            f"{len(s.y_train):,} train / {len(s.y_val):,} validation / {len(s.y_test):,} test images "
            f"from {raw.folder}; {self.ctx.world_size} process(es) x {self.threads} thread(s) "
            f"(OpenMP wait policy {os.environ.get('OMP_WAIT_POLICY', 'default')}); run dir {self.run}"
        )

    def build_model(self) -> None:
        """Build the model with the recipe's seed (`self.model`; `self.net` is its DDP wrapper, if any)."""
        torch.manual_seed(self.config.seed)
        model = build_model(self.config.model, self.config.model_config)
        if not isinstance(model, torch.nn.Module):
            raise config_error("`model` must build a torch.nn.Module.", model=self.config.model)
        if self.config.init == "keras":
            keras_init_(model)
        if self.resume_state is None and self.ctx.is_main:
            self.print_summary(model)
        if self.config.channels_last:
            model = model.to(memory_format=torch.channels_last)
            # pointwise / first convs as matrix products, SELU and 2x2 max pools as convwise's C++ loops,
            # SELUs after those convs fused into them (same parameters; convwise.layers.fast)
            use_fast_layers_(model, selu=can_compile() and not self.config.compile)
        self.model: torch.nn.Module = model
        self.net: torch.nn.Module = model
        if self.ctx.enabled:
            from torch.nn.parallel import DistributedDataParallel

            self.net = DistributedDataParallel(model)

    def print_summary(self, model: torch.nn.Module) -> None:
        """The model's cost summary (convwise.profile, inference costs) before training starts."""
        from convwise.profile import profile

        model.eval()  # the model is fresh, so nothing else changes
        report = profile(model, tuple(self.splits.x_train.shape[1:]), name=self.config.model)
        model.train()
        text = report.render(width=max(self.console.width, 120)).rstrip()
        self.console.print(text, markup=False, highlight=False, soft_wrap=True)

    def build_optimizer(self) -> None:
        """Adam (AdamW with weight decay), the per-step schedule and early stopping."""
        c = self.config
        opt_cls = torch.optim.AdamW if c.weight_decay > 0 else torch.optim.Adam
        self.optimizer = opt_cls(
            self.model.parameters(),
            lr=c.lr,
            eps=c.adam_eps,
            weight_decay=c.weight_decay,
            fused=all(p.dtype == torch.float32 for p in self.model.parameters()),  # one kernel per step
        )
        per_rank = self.splits.x_train.shape[0] // self.ctx.world_size
        self.steps_per_epoch = math.ceil(per_rank / self.local_batch)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, lr_lambda(c, self.steps_per_epoch))
        self.stopper = EarlyStopping(c.patience, c.min_delta)
        compiled = c.compile and can_compile()
        if c.compile and not compiled:
            self.say(
                "[yellow]No C++ compiler found: training runs eagerly (slower; see docs/training.md).[/]"
            )
        self.step = TrainStep(
            self.net,
            self.optimizer,
            label_smoothing=c.label_smoothing,
            compile=compiled,
            batch_size=self.local_batch,
            precision=c.precision,
        )

    # ---- start: the run folder appears -------------------------------------------------------------

    def start(self) -> None:
        """Create the run folder (a new run) or restore the saved state (a resumed one); open TensorBoard."""
        if not self.resuming:
            create_run_dir(self.run, self.config, self.ctx)
        elif self.resume_state is not None:
            self.restore(self.resume_state)
            self.say(
                f"Resuming {self.run} after epoch {self.state.epoch} "
                f"(best val loss {self.state.best_val_loss:.4f} at epoch {self.state.best_epoch})."
            )
        else:
            self.say(f"Resuming {self.run}: no completed epoch was saved, starting from epoch 1.")
        self.tb = TensorBoardLog(
            self.run / "tensorboard",
            purge_step=self.state.epoch + 1 if self.state.epoch else None,
            enabled=self.tensorboard and self.ctx.is_main,
        )
        if self.tb.note:
            self.say(f"[yellow]{self.tb.note}[/yellow]")

    def restore(self, saved: dict[str, Any]) -> None:
        """Model, optimiser, schedule, early stopping, torch RNG and progress from a `last.pt` payload."""
        self.model.load_state_dict(saved["model_state"])
        self.optimizer.load_state_dict(saved["optimizer"])
        self.scheduler.load_state_dict(saved["scheduler"])
        self.stopper.load_state_dict(saved["early_stopping"])
        torch.set_rng_state(saved["torch_rng"])
        self.state = TrainState.from_dict(saved["progress"])

    def resume_payload(self) -> dict[str, Any]:
        """What `last.pt` holds: everything `restore` needs."""
        return {
            "format": RESUME_FORMAT,
            "model_state": {k: v.detach().clone() for k, v in self.model.state_dict().items()},
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "early_stopping": self.stopper.state_dict(),
            "torch_rng": torch.get_rng_state(),
            "progress": self.state.to_dict(),
        }

    # ---- epochs --------------------------------------------------------------------------------------

    def train_epoch(self, epoch: int) -> dict[str, Any]:
        """One pass over the training set; returns train loss, accuracy and lr."""
        console = self.console if (self.show_progress and self.ctx.is_main) else None
        return run_epoch(
            self.step,
            self.scheduler,
            self.splits.x_train,
            self.splits.y_train,
            self.config,
            self.ctx,
            epoch,
            self.local_batch,
            self.steps_per_epoch,
            console,
        )

    def evaluate(self, split: str) -> Any:
        """Scores of the current weights on `val` or `test`."""
        s = self.splits
        x, y = (s.x_val, s.y_val) if split == "val" else (s.x_test, s.y_test)
        return score(
            self.net,
            x,
            y,
            num_classes=len(s.classes),
            ctx=self.ctx,
            channels_last=self.config.channels_last,
        )

    def end_epoch(self, row: dict[str, Any]) -> bool:
        """Record a trained epoch's row: validation, best checkpoint, early stopping, last.pt, logs.

        Returns:
            True when the run is finished (early stop or last epoch).
        """
        c, ctx, epoch = self.config, self.ctx, row["epoch"]
        improved = self.state.record(row)
        if improved and ctx.is_main:
            save_checkpoint(
                self.run / BEST_FILE,
                self.model,
                model_name=c.model,
                model_config=c.model_config,
                normalization=self.splits.normalization.as_dict(),
                dataset=self.splits.dataset,
                classes=self.splits.classes,
                input_shape=tuple(self.splits.x_train.shape[1:]),
                epoch=epoch,
                metrics={
                    k: float(row[k]) for k in ("train_loss", "train_accuracy", "val_loss", "val_accuracy")
                },
                extra={"recipe": c.to_dict()},
            )
        stop = self.stopper.update(row["val_loss"], epoch)
        self.state.finished = stop or epoch >= c.epochs
        if ctx.is_main:
            atomic_save(self.resume_payload(), self.run / LAST_FILE)
            write_csv(self.state.history, self.run / "metrics.csv")
            if self.tb is not None:
                self.tb.log(row)
        self.say(epoch_line(row, c.epochs, improved=improved))
        if stop:
            self.say(f"Early stopping: val loss did not improve by {c.min_delta} for {c.patience} epochs.")
        ctx.barrier()
        return self.state.finished

    def fit(self, max_epochs: int | None = None) -> None:
        """Run epochs until the run is finished (or `max_epochs` of them in this call).

        Raises:
            TrainingInterrupted: Ctrl-C / SIGTERM; everything up to the last completed epoch is saved.
        """
        done = 0
        try:
            while not self.state.finished and self.state.epoch < self.config.epochs:
                if max_epochs is not None and done >= max_epochs:
                    break
                epoch = self.state.epoch + 1
                t0 = time.perf_counter()
                row = self.train_epoch(epoch)
                val = self.evaluate("val")
                row.update(epoch=epoch, val_loss=val.loss, val_accuracy=val.accuracy)
                if self.track_test:
                    row["test_accuracy"] = self.evaluate("test").accuracy
                row["seconds"] = time.perf_counter() - t0
                self.end_epoch(row)
                done += 1
        except KeyboardInterrupt:
            raise TrainingInterrupted(self.run, self.state.epoch) from None
        finally:
            if self.tb is not None:
                self.tb.close()

    # ---- finish ----------------------------------------------------------------------------------------

    def finish(self) -> dict[str, Any]:
        """Score the best checkpoint on the test set; write results.json and plots; print the report."""
        run, ctx = self.run, self.ctx
        best = read_checkpoint(run / BEST_FILE) if ctx.is_main or (run / BEST_FILE).is_file() else None
        if best is None:  # pragma: no cover - other ranks on a non-shared file system
            raise ConfigError(f"best checkpoint missing in {run}")
        self.model.load_state_dict(best["state_dict"])
        test = score(
            self.model,
            self.splits.x_test,
            self.splits.y_test,
            num_classes=len(self.splits.classes),
            ctx=ctx,
            channels_last=self.config.channels_last,
        )
        results = run_results(test, self.config, self.splits, self.state, run, ctx.world_size)
        if ctx.is_main:
            note = write_results(results, test, self.state, self.config, self.splits, run, plots=self.plots)
            if note:
                self.say(note)
            print_test_report(results, self.console)
        return results

    def run_all(self, max_epochs: int | None = None) -> dict[str, Any]:
        """`start`, `fit`, then `finish` (or a short dict when the run stopped before its end)."""
        self.start()
        self.fit(max_epochs)
        if not self.state.finished:
            return {"run_dir": str(self.run), "epochs_run": self.state.epoch, "finished": False}
        return self.finish()


def train(
    config: TrainConfig,
    *,
    max_epochs_this_call: int | None = None,
    **options: Any,
) -> dict[str, Any]:
    """Train `config.model` on `config.dataset`, writing everything into one run directory.

    Args:
        config: the recipe (ignored with `resume`: the run's own config.json is used).
        max_epochs_this_call: stop (as if killed) after this many epochs; for tests of resume.
        options: the keyword arguments of `Trainer` (run_dir, resume, data_dir, download, console,
            progress, tensorboard, plots, track_test, ctx).

    Returns:
        The results (also written to `results.json`): test_accuracy, test_loss, epochs_run, best_epoch,
        seconds, run_dir, per-class accuracy, confusion matrix, ...

    Raises:
        ConfigError: bad config, data not found, or a damaged resume file (no run folder is created).
        TrainingInterrupted: Ctrl-C; the run can be resumed.

    >>> train(TrainConfig(dataset="cifar"), run_dir="/nonexistent/run")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    convwise.core.errors.ConfigError: `dataset` must be one of ... Received: dataset='cifar'.
    """
    return Trainer(config, **options).run_all(max_epochs_this_call)


__all__ = ["Trainer", "train"]
