"""Every file and folder convwise writes: atomically, and with one error for every OS failure.

A reader sees the old file or the complete new one, never a half-written file; a write that fails
leaves nothing behind (no temporary file, no folder it created) and raises `WriteError`
(`cannot write PATH: reason`), which the command line prints as one line with exit status 2.
Standard library only. Every file convwise writes for a user (checkpoints, reports, figures, logs,
downloads, `-o` outputs) goes through `atomic_path` / `atomic_file` (several files that belong together
through `atomic_paths`: all or none), every folder through `make_folder`.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator, Sequence
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
    with atomic_paths([path]) as (tmp,):
        yield tmp


@contextlib.contextmanager
def atomic_paths(paths: Sequence[str | Path]) -> Iterator[list[Path]]:
    """Temporary paths for several files that all become their destinations when the block ends, or none.

    For a command writing several outputs (`draw -o a.svg -o b.png`): every destination is checked
    before anything is written (its temporary file is created beside it, its folder made), the block
    writes the temporaries, then all are fsynced and renamed over their destinations. If any step
    fails — a destination that cannot be written, the block, a rename — no destination changes: the
    temporaries and the folders made for them are removed, and files already renamed are put back (a
    previous file from a hard link kept until the end, a new file removed). Devices and pipes are
    written in place (as by `atomic_path`), so they cannot be taken back.

    Raises:
        WriteError: a destination cannot be written; an OS error inside the block is one when it names a
            destination or its temporary, or names no file and there is one destination (else the block
            says which file failed, with `write_error`).

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     a, b = Path(tmp) / "a.svg", Path(tmp) / "file" / "b.png"
    ...     _ = Path(tmp, "file").write_text("a file, not a folder")
    ...     try:
    ...         with atomic_paths([a, b]) as parts:
    ...             _ = parts[0].write_text("<svg/>")  # never runs: b cannot be written
    ...     except WriteError as exc:
    ...         print(exc)
    ...     sorted(p.name for p in Path(tmp).iterdir())
    cannot write .../file/b.png: .../file is a file, not a folder
    ['file']
    """
    targets = [Path(p) for p in paths]
    temps: dict[Path, Path] = {}  # destination → the file to write (itself for a device or pipe)
    created: list[Path] = []
    current: Path | None = targets[0] if len(targets) == 1 else None  # whom an OS error is about
    in_block = False
    try:
        for path in dict.fromkeys(targets):
            current = path
            if _is_special(path):
                temps[path] = path
                continue
            if path.is_dir():
                raise WriteError(path, "it is a folder")
            created += _make_folders(path.parent, path)
            prefix, suffix = f".{path.name}.", ".tmp" + path.suffix
            fd, tmp_name = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=path.parent)
            os.close(fd)
            temps[path] = Path(tmp_name)
            os.chmod(tmp_name, _umask_mode())
        current = targets[0] if len(targets) == 1 else None
        in_block = True
        yield [temps[p] for p in targets]
        in_block = False
        for path, tmp in temps.items():
            current = path
            if tmp != path:
                with open(tmp, "rb") as fh:
                    os.fsync(fh.fileno())
        _replace_all(temps)
    except BaseException as exc:
        for path, tmp in temps.items():
            if tmp != path:
                with contextlib.suppress(OSError):
                    tmp.unlink()
        _remove_folders(created)
        about = _blamed(exc, current, temps) if in_block else current
        if isinstance(exc, OSError) and not isinstance(exc, WriteError) and about is not None:
            raise write_error(about, exc) from None
        raise
    for folder in dict.fromkeys(path.parent for path, tmp in temps.items() if tmp != path):
        _fsync_folder(folder)


def _blamed(exc: BaseException, sole: Path | None, temps: dict[Path, Path]) -> Path | None:
    """The destination an OS error raised inside the block is about, or None when it is not about ours."""
    names = {str(name): path for path, tmp in temps.items() for name in (path, tmp)}
    if not _is_write_error(exc, *map(Path, names)):
        return None
    filename = getattr(exc, "filename", None)
    return sole if filename is None else names[str(filename)]


def _replace_all(temps: dict[Path, Path]) -> None:
    """Rename every temporary over its destination; on a failure put back those already renamed."""
    done: list[tuple[Path, Path | None, bool]] = []  # (destination, link to its previous file, existed)
    try:
        for path, tmp in temps.items():
            if tmp == path:
                continue
            existed, backup = path.exists(), None
            if existed and len(temps) > 1:
                backup = tmp.with_name(tmp.name + ".old")
                try:
                    os.link(path, backup)
                except OSError:  # a file system without hard links: the previous file cannot be kept
                    backup = None
            done.append((path, backup, existed))
            try:
                os.replace(tmp, path)
            except OSError as exc:
                raise write_error(path, exc) from None
    except BaseException:
        for path, backup, existed in reversed(done):
            with contextlib.suppress(OSError):
                if backup is not None:
                    os.replace(backup, path)
                elif not existed:
                    path.unlink()
        raise
    finally:
        for _, backup, _ in done:
            if backup is not None:
                with contextlib.suppress(OSError):
                    backup.unlink()


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
    "atomic_paths",
    "atomic_write_bytes",
    "atomic_write_text",
    "make_folder",
    "new_folder",
    "write_error",
]
