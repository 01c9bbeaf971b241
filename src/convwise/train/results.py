"""The end of a run: the best checkpoint scored on the test set, results.json and the PNG plots."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from convwise.data import Splits
from convwise.fileio import atomic_write_text
from convwise.train.evaluate import Scores
from convwise.train.logs import plot_confusion, plot_curves
from convwise.train.recipes import TrainConfig
from convwise.train.rundir import BEST_FILE, RESULTS_FILE
from convwise.train.state import TrainState


def run_results(
    test: Scores, config: TrainConfig, splits: Splits, state: TrainState, run: Path, world_size: int
) -> dict[str, Any]:
    """The results of a finished run (the content of `results.json`)."""
    return {
        "test_accuracy": test.accuracy,
        "test_loss": test.loss,
        "epochs_run": state.epoch,
        "best_epoch": state.best_epoch,
        "best_val_loss": state.best_val_loss,
        "best_val_accuracy": next(r["val_accuracy"] for r in state.history if r["epoch"] == state.best_epoch),
        "early_stopped": state.history[-1]["epoch"] < config.epochs,
        "seconds": state.seconds,
        "run_dir": str(run),
        "model": config.model,
        "dataset": splits.dataset,
        "recipe": config.recipe,
        "world_size": world_size,
        "checkpoint": str(run / BEST_FILE),
        "test": test.as_dict(splits.classes),
    }


def write_results(
    results: dict[str, Any],
    test: Scores,
    state: TrainState,
    config: TrainConfig,
    splits: Splits,
    run: Path,
    *,
    plots: bool,
) -> str | None:
    """Write results.json and (with `plots`) curves.png and confusion.png; a note if plots were skipped."""
    atomic_write_text(json.dumps(results, indent=2) + "\n", run / RESULTS_FILE)
    if not plots:
        return None
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
        return '[yellow]Plots skipped: install matplotlib with pip install "convwise\\[train]".[/yellow]'
    return None


__all__ = ["run_results", "write_results"]
