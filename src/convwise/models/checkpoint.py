"""Reading `convwise-checkpoint/1` files: check the format, rebuild the model it names, load its weights.

Writing checkpoints (atomically, with the resume state) is the trainer's job: `convwise.train.checkpoint`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from convwise.core.errors import ConfigError, config_error

FORMAT = "convwise-checkpoint/1"
CHECKPOINT_SUFFIXES = (".pt", ".pth")
RESUME_FORMAT = "convwise-resume/1"


def is_checkpoint_path(source: str) -> bool:
    """True when `source` names a checkpoint (an existing file, a .pt/.pth name, or a run folder holding
    best.pt / last.pt) rather than a TARGET."""
    path = Path(source)
    if path.is_dir():  # a training run directory holding best.pt / last.pt
        return any((path / name).is_file() for name in ("best.pt", "last.pt"))
    return path.suffix.lower() in CHECKPOINT_SUFFIXES or path.is_file()


def read_checkpoint(path: str | Path, *, expected_format: str = FORMAT) -> dict[str, Any]:
    """Load and check a checkpoint dict (weights_only, CPU).

    Raises:
        ConfigError: missing, unreadable, corrupt, or not a checkpoint of `expected_format`; names the path.
    """
    path = Path(path)
    if path.is_dir():
        names = ("best.pt", "last.pt") if expected_format == FORMAT else ("last.pt",)
        found = [path / name for name in names if (path / name).is_file()]
        if not found:
            raise config_error(
                f"The folder `path` holds no {' nor '.join(names)}: it is not a convwise run directory "
                "(give a checkpoint file or the folder `convwise train` wrote).",
                path=str(path),
            )
        path = found[0]
    if not path.is_file():
        raise config_error("Checkpoint `path` does not exist.", path=str(path))
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a damaged zip / pickle
        raise config_error(
            f"Checkpoint `path` is corrupt or unreadable ({type(exc).__name__}).", path=str(path)
        ) from exc
    if not isinstance(payload, dict) or payload.get("format") != expected_format:
        found = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
        raise config_error(
            f"Checkpoint `path` is not a {expected_format} file (format={found!r}).", path=str(path)
        )
    return payload


def build_model(name: str, config: dict[str, Any]) -> torch.nn.Module:
    """Rebuild a model from (name, config): a zoo name or a `file.py:factory` / `pkg.mod:factory` target."""
    from convwise.models.target import load_target

    return load_target(name, **config)


def load_checkpoint(path: str | Path) -> tuple[torch.nn.Module, dict[str, Any]]:
    """Rebuild the model stored in a `convwise-checkpoint/1` file, with its weights, in eval mode.

    Args:
        path: the checkpoint file (or a run directory: its `best.pt`).

    Returns:
        (model, info) where info is the checkpoint dict without `state_dict`.

    Raises:
        ConfigError: missing/corrupt file, or weights that do not fit the rebuilt model.
    """
    payload = read_checkpoint(path)
    spec = payload.get("model") or {}
    try:
        model = build_model(str(spec["name"]), dict(spec.get("config") or {}))
        model.load_state_dict(payload["state_dict"])
    except ConfigError:
        raise
    except (KeyError, RuntimeError, TypeError) as exc:
        raise config_error(
            f"Checkpoint `path` does not match its model {spec.get('name')!r} "
            f"({' '.join(str(exc).split())}).",
            path=str(path),
        ) from exc
    model.eval()
    info = {k: v for k, v in payload.items() if k != "state_dict"}
    return model, info


__all__ = [
    "CHECKPOINT_SUFFIXES",
    "FORMAT",
    "RESUME_FORMAT",
    "build_model",
    "is_checkpoint_path",
    "load_checkpoint",
    "read_checkpoint",
]
