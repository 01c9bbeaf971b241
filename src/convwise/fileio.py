"""Atomic file writes: a reader sees the old file or the complete new one, never a half-written file.

Standard library only. Every file convwise writes for a user (checkpoints, reports, figures, logs,
downloads) goes through `atomic_file`.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any


def _umask_mode() -> int:
    """The permission bits a normal `open()` would give a new file (mkstemp makes them 0600)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _fsync_folder(folder: Path) -> None:
    with contextlib.suppress(OSError):  # make a rename durable where the OS allows it
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside `path` (same suffix) to write to; when the block ends, it becomes `path`.

    For writers that want a file name (matplotlib, exporters). The file is fsynced and renamed over
    `path` with `os.replace`; on any exception `path` keeps its previous content and the temporary file
    is removed. A kill leaves at most a stray `.NAME.*.tmp<suffix>` beside it.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp" + path.suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        os.chmod(tmp, _umask_mode())
        yield tmp
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_folder(path.parent)


@contextlib.contextmanager
def atomic_file(path: str | Path, mode: str = "wb", *, encoding: str | None = None) -> Iterator[IO[Any]]:
    """Open a temporary file beside `path`; when the block ends without error, it becomes `path`.

    Args:
        path: destination (its folder is created).
        mode: "wb" or "w".
        encoding: for text mode (default utf-8).
    """
    text = "b" not in mode
    with atomic_path(path) as tmp, open(tmp, mode, encoding=(encoding or "utf-8") if text else None) as fh:
        yield fh


def atomic_write_text(text: str, path: str | Path) -> Path:
    """Write `text` (UTF-8) to `path` atomically."""
    with atomic_file(path, "w") as fh:
        fh.write(text)
    return Path(path)


def atomic_write_bytes(data: bytes, path: str | Path) -> Path:
    """Write `data` to `path` atomically."""
    with atomic_file(path, "wb") as fh:
        fh.write(data)
    return Path(path)
