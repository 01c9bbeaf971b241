"""Writing checkpoints atomically, with interrupts held (reading them: `convwise.models.checkpoint`)."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

from convwise.fileio import atomic_file, atomic_write_text
from convwise.models.checkpoint import FORMAT, RESUME_FORMAT, build_model, load_checkpoint, read_checkpoint


@contextlib.contextmanager
def deferred_interrupts() -> Iterator[None]:
    """Hold SIGINT / SIGTERM until the block ends, then raise `KeyboardInterrupt` if one came.

    A Ctrl-C landing inside `torch.save` would otherwise surface as an error from its C++ writer instead
    of a clean, resumable stop. Outside the main thread (where handlers cannot be set) it does nothing.
    """
    pending: list[int] = []

    def hold(signum: int, frame: Any) -> None:
        pending.append(signum)

    try:
        previous = {sig: signal.signal(sig, hold) for sig in (signal.SIGINT, signal.SIGTERM)}
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if pending:
        raise KeyboardInterrupt


def atomic_save(obj: Any, path: str | Path) -> Path:
    """`torch.save(obj)` to `path` so that `path` is always either the old or the complete new file.

    Writes a temporary file in the same folder, flushes and fsyncs it, then `os.replace`s it over `path`
    and fsyncs the folder. A crash or kill at any moment leaves the previous file intact.

    Args:
        obj: anything `torch.save` accepts.
        path: destination.

    Returns:
        `path`.
    """
    path = Path(path)
    with deferred_interrupts():  # atomic_file creates the folder
        _atomic_save(obj, path)
    return path


def _atomic_save(obj: Any, path: Path) -> None:
    with atomic_file(path, "wb") as fh:
        torch.save(obj, fh)


def plain_state_dict(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The model's state dict, unwrapped from DDP, detached, contiguous (NCHW) CPU tensors."""
    module = getattr(model, "module", model)
    return {k: v.detach().to("cpu").contiguous() for k, v in module.state_dict().items()}


def save_checkpoint(
    path: str | Path,
    model: torch.nn.Module,
    *,
    model_name: str,
    model_config: dict[str, Any],
    normalization: dict[str, float],
    dataset: str,
    epoch: int,
    metrics: dict[str, float],
    classes: list[str] | tuple[str, ...] = (),
    input_shape: list[int] | tuple[int, ...] = (1, 28, 28),
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write a `convwise-checkpoint/1` file atomically.

    The file is a plain dict loadable with `torch.load(path, weights_only=True)`:
    `format, model {name, config}, state_dict, normalization {mean, std, scale}, dataset, classes,
    input_shape (C, H, W), epoch, metrics, torch_version, convwise_version` plus `extra`.
    The model expects `(pixel * scale - mean) / std` as input, in N, C, H, W layout.

    Returns:
        `path`.
    """
    from convwise import __version__

    payload: dict[str, Any] = {
        "format": FORMAT,
        "model": {"name": model_name, "config": dict(model_config)},
        "state_dict": plain_state_dict(model),
        "normalization": dict(normalization),
        "dataset": dataset,
        "classes": list(classes),
        "input_shape": [int(d) for d in input_shape],
        "epoch": int(epoch),
        "metrics": {k: float(v) for k, v in metrics.items()},
        "torch_version": str(torch.__version__),
        "convwise_version": __version__,
    }
    if extra:
        payload.update(extra)
    return atomic_save(payload, path)


__all__ = [
    "FORMAT",
    "RESUME_FORMAT",
    "atomic_save",
    "atomic_write_text",
    "build_model",
    "load_checkpoint",
    "plain_state_dict",
    "read_checkpoint",
    "save_checkpoint",
]
