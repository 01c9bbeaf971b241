"""Every file and folder convwise writes: atomically, and with one error for every OS failure.

A reader sees the old file or the complete new one, never a half-written file; a write that fails
leaves nothing behind (no temporary file, no folder it created) and raises `WriteError`
(`cannot write PATH: reason`), which the command line prints as one line with exit status 2.
Standard library only. Every file convwise writes for a user (checkpoints, reports, figures, logs,
downloads, `-o` outputs) goes through `atomic_path` / `atomic_file`, every folder through `make_folder`.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from convwise.core.errors import WriteError

#: OS errors that mean "this path cannot be written" (others, e.g. a network error inside a
#: download block, pass through unchanged).
_WRITE_ERRNOS = frozenset(
    getattr(errno, name)
    for name in (
        "EACCES", "EPERM", "EROFS", "ENOSPC", "EDQUOT", "EFBIG", "EIO", "ENOTDIR", "EISDIR", "EEXIST",
        "ENOENT", "ENAMETOOLONG", "ELOOP", "EMLINK", "ETXTBSY", "EBUSY", "EXDEV", "EINVAL",
    )
    if hasattr(errno, name)
)  # fmt: skip


def _reason(path: Path, exc: OSError) -> str:
    """The reason a write of `path` failed, in words: a path below a file is named as such."""
    for parent in (path, *path.parents):
        if parent != path and parent.exists() and not parent.is_dir():
            return f"{parent} is a file, not a folder"
    if exc.errno == errno.EISDIR or (exc.errno == errno.EEXIST and path.is_dir()):
        return "it is a folder"
    if exc.errno == errno.EEXIST and path.exists():
        return "it is a file, not a folder"
    return exc.strerror or str(exc)


def write_error(path: str | Path, exc: OSError) -> WriteError:
    """`WriteError` for an OS error raised while writing `path`.

    >>> import errno, os
    >>> str(write_error("/data/out.csv", OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))))
    'cannot write /data/out.csv: No space left on device'
    """
    if isinstance(exc, WriteError):
        return exc
    return WriteError(path, _reason(Path(path), exc))


def _is_write_error(exc: BaseException, *names: Path) -> bool:
    """An OS error about one of `names` (or about no file: a failed write(2)) with a write errno."""
    if not isinstance(exc, OSError) or isinstance(exc, WriteError) or exc.errno not in _WRITE_ERRNOS:
        return False
    files = {str(n) for n in names}
    return exc.filename is None or str(exc.filename) in files


def _make_folders(folder: Path, target: Path) -> list[Path]:
    """Create `folder` and its missing parents for writing `target`; the folders created, outermost first."""
    missing = []
    for parent in (folder, *folder.parents):
        if parent.is_dir():
            break
        missing.append(parent)
    missing.reverse()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        _remove_folders(missing)
        raise write_error(target, exc) from None
    return missing


def _remove_folders(created: list[Path]) -> None:
    for folder in reversed(created):
        with contextlib.suppress(OSError):
            folder.rmdir()


def make_folder(path: str | Path) -> Path:
    """Create the folder `path` (and its parents) unless it exists.

    Raises:
        WriteError: it cannot be created (a parent is a file, no permission, read-only file system).

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     make_folder(Path(tmp) / "runs" / "a").is_dir()
    True
    """
    path = Path(path)
    _make_folders(path, path)
    return path


@contextlib.contextmanager
def new_folder(path: str | Path) -> Iterator[Path]:
    """Create the folder `path` (and its parents) for the block; if the block fails, remove what it made.

    For a folder whose first files must all be written for it to make sense (a run directory and its
    `config.json`): a failure leaves no empty or half-filled folder behind. Folders that existed before
    are kept, whatever the block wrote in them is the block's to clean.

    Raises:
        WriteError: the folder cannot be created.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     try:
    ...         with new_folder(Path(tmp) / "runs" / "a") as run:
    ...             _ = (run / "config.json").write_text("{")
    ...             raise ValueError("the run cannot start")
    ...     except ValueError:
    ...         pass
    ...     sorted(p.name for p in Path(tmp).iterdir())
    []
    """
    path = Path(path)
    created = _make_folders(path, path)
    try:
        yield path
    except BaseException:
        if created:
            shutil.rmtree(created[0], ignore_errors=True)
        raise


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


def _is_special(path: Path) -> bool:
    """An existing destination that is not a regular file or folder: a device, a FIFO (/dev/stdout …)."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside `path` (same suffix) to write to; when the block ends, it becomes `path`.

    For writers that want a file name (matplotlib, exporters). The file is fsynced and renamed over
    `path` with `os.replace`; on any exception `path` keeps its previous content, the temporary file
    and the folders created for it are removed. A kill leaves at most a stray `.NAME.*.tmp<suffix>`.
    A destination that is a device or a pipe (`/dev/stdout`) is written in place, never replaced.

    Raises:
        WriteError: an OS error writing `path` (also one raised inside the block about the temporary).

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp, atomic_path(Path(tmp) / "a" / "model.onnx") as part:
    ...     _ = part.write_bytes(b"onnx")
    ...     part.suffix, part.parent.name, part.name.startswith(".model.onnx.")
    ('.onnx', 'a', True)
    """
    path = Path(path)
    if _is_special(path):
        try:
            yield path
        except OSError as exc:
            if _is_write_error(exc, path):
                raise write_error(path, exc) from None
            raise
        return
    if path.is_dir():
        raise WriteError(path, "it is a folder")
    created = _make_folders(path.parent, path)
    tmp: Path | None = None
    in_block = False  # OS errors of our own steps are always about `path`; the block's, when they say so
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp" + path.suffix, dir=path.parent)
        os.close(fd)
        tmp = Path(tmp_name)
        os.chmod(tmp, _umask_mode())
        in_block = True
        yield tmp
        in_block = False
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        if tmp is not None:
            with contextlib.suppress(OSError):
                tmp.unlink()
        _remove_folders(created)
        if isinstance(exc, OSError) and (not in_block or _is_write_error(exc, path, *([tmp] if tmp else []))):
            raise write_error(path, exc) from None
        raise
    _fsync_folder(path.parent)


@contextlib.contextmanager
def atomic_file(path: str | Path, mode: str = "wb", *, encoding: str | None = None) -> Iterator[IO[Any]]:
    """Open a temporary file beside `path`; when the block ends without error, it becomes `path`.

    Args:
        path: destination (its folder is created).
        mode: "wb" or "w".
        encoding: for text mode (default utf-8).

    Raises:
        WriteError: the file cannot be written (see `atomic_path`).

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     with atomic_file(Path(tmp) / "log.txt", "w") as fh:
    ...         _ = fh.write("epoch 1")
    ...     (Path(tmp) / "log.txt").read_text()
    'epoch 1'
    """
    text = "b" not in mode
    with atomic_path(path) as tmp, open(tmp, mode, encoding=(encoding or "utf-8") if text else None) as fh:
        yield fh


def atomic_write_text(text: str, path: str | Path) -> Path:
    """Write `text` (UTF-8) to `path` atomically.

    Raises:
        WriteError: the file cannot be written.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     atomic_write_text("hello", Path(tmp) / "a.txt").read_text()
    'hello'
    """
    with atomic_file(path, "w") as fh:
        fh.write(text)
    return Path(path)


def atomic_write_bytes(data: bytes, path: str | Path) -> Path:
    """Write `data` to `path` atomically.

    Raises:
        WriteError: the file cannot be written.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     atomic_write_bytes(b"\\x89PNG", Path(tmp) / "a.png").stat().st_size
    4
    """
    with atomic_file(path, "wb") as fh:
        fh.write(data)
    return Path(path)


__all__ = [
    "atomic_file",
    "atomic_path",
    "atomic_write_bytes",
    "atomic_write_text",
    "make_folder",
    "new_folder",
    "write_error",
]
