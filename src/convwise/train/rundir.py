"""The run directory: its name, its files, reading a run to resume, and creating it once a run can start."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from convwise.core.errors import config_error
from convwise.fileio import atomic_write_text, new_folder
from convwise.models.checkpoint import RESUME_FORMAT, read_checkpoint
from convwise.train.distributed import DistContext
from convwise.train.recipes import TrainConfig

CONFIG_FILE = "config.json"
BEST_FILE = "best.pt"
LAST_FILE = "last.pt"
RESULTS_FILE = "results.json"


def default_run_dir(config: TrainConfig, root: str | Path = "runs") -> Path:
    """A new folder `runs/<model>-<dataset>-<recipe>-<timestamp>` (suffixed if it exists).

    >>> default_run_dir(TrainConfig(recipe="seed"), root="/nonexistent").name.startswith(
    ...     "fashion_separable_cnn-fashion-mnist-seed-")
    True
    """
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    name = Path(config.model.split(":")[-1]).name.replace(".py", "")
    base = Path(root) / f"{name}-{config.dataset}-{config.recipe}-{stamp}"
    path, i = base, 1
    while path.exists():
        i += 1
        path = Path(f"{base}-{i}")
    return path


def new_run_dir(config: TrainConfig, run_dir: str | Path | None, ctx: DistContext) -> Path:
    """The folder a new run will write to (nothing is created yet); every rank gets rank 0's name.

    Raises:
        ConfigError: `run_dir` already holds a run.
    """
    if run_dir is not None:
        run = Path(run_dir)
        if (run / LAST_FILE).exists() or (run / BEST_FILE).exists():
            raise config_error(
                "`run_dir` already holds a run; continue it with --resume or choose another folder.",
                run_dir=str(run),
            )
        return run
    run = default_run_dir(config)
    if ctx.enabled:
        import torch.distributed as dist

        holder = [str(run)]
        dist.broadcast_object_list(holder, src=0)
        run = Path(holder[0])
    return run


def read_run(resume: str | Path) -> tuple[Path, TrainConfig, dict[str, Any] | None]:
    """A run to continue: its folder, its own `config.json`, and its `last.pt` payload (None before epoch 1).

    Raises:
        ConfigError: no config.json, a config.json that is not valid JSON or has a bad field (named),
            or a damaged last.pt.
    """
    run = Path(resume)
    path = run / CONFIG_FILE
    if not path.is_file():
        raise config_error("`resume` must be a run directory holding config.json.", resume=str(run))
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        where = f" (line {exc.lineno}, column {exc.colno})" if isinstance(exc, json.JSONDecodeError) else ""
        raise config_error(f"The run's config.json is not valid JSON{where}.", path=str(path)) from None
    if not isinstance(values, dict):
        raise config_error("The run's config.json must hold a JSON object.", path=str(path))
    config = TrainConfig.from_dict(values, source=str(path))
    last = run / LAST_FILE
    state = read_checkpoint(last, expected_format=RESUME_FORMAT) if last.is_file() else None
    return run, config, state


def create_run_dir(run: Path, config: TrainConfig, ctx: DistContext) -> None:
    """Create the folder and write `config.json` (rank 0), then wait for every rank."""
    if ctx.is_main:
        with new_folder(run):  # a config.json that cannot be written leaves no folder behind
            atomic_write_text(json.dumps(config.to_dict(), indent=2) + "\n", run / CONFIG_FILE)
    ctx.barrier()


def list_run_dir(run: str | Path) -> list[str]:
    """The files of a run directory (relative paths), for reports.

    >>> list_run_dir("/nonexistent")
    []
    """
    run = Path(run)
    return sorted(str(p.relative_to(run)) for p in run.rglob("*") if p.is_file())


__all__ = [
    "BEST_FILE",
    "CONFIG_FILE",
    "LAST_FILE",
    "RESULTS_FILE",
    "create_run_dir",
    "default_run_dir",
    "list_run_dir",
    "new_run_dir",
    "read_run",
]
