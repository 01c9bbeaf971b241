"""Download of data set files with a checksum check and an atomic rename (never a half-written file).

A local `file://` URL works as a mirror too; a file whose SHA-256 differs is not kept:

>>> import gzip, hashlib, tempfile
>>> from pathlib import Path
>>> from convwise.core.errors import ConfigError
>>> from convwise.data.datasets import FileSpec
>>> with tempfile.TemporaryDirectory() as tmp:
...     src = Path(tmp) / "labels.gz"
...     _ = src.write_bytes(gzip.compress(b"IDX"))
...     good = FileSpec("labels", hashlib.sha256(b"IDX").hexdigest(), (3,))
...     got = download_file(src.as_uri(), Path(tmp) / "dl" / "labels.gz", good)
...     try:
...         download_file(src.as_uri(), Path(tmp) / "bad" / "labels.gz", FileSpec("labels", "0" * 64, (3,)))
...     except ConfigError:
...         print(got.read_bytes() == src.read_bytes(), (Path(tmp) / "bad").exists())
True False
"""

from __future__ import annotations

import hashlib
import urllib.error
import urllib.request
from pathlib import Path

from convwise.core.errors import config_error
from convwise.data.datasets import DatasetSpec, FileSpec, find_file
from convwise.data.idx import read_bytes
from convwise.fileio import atomic_path


def download_file(url: str, dest: Path, file: FileSpec, *, timeout: float = 30.0) -> Path:
    """Fetch `url` into `dest`, accepting it only if its decompressed content has `file.sha256`.

    The bytes go to a temporary file in `dest`'s folder, are verified, fsynced, then renamed over
    `dest` with `os.replace`, so `dest` is either absent or complete and correct.

    Args:
        url: http(s):// or file:// URL of the (usually gzip) file.
        dest: final path.
        file: the expected file (its SHA-256 is of the decompressed content).
        timeout: network timeout in seconds.

    Returns:
        `dest`.

    Raises:
        OSError: the URL could not be fetched (network unavailable ...).
        ConfigError: the fetched content does not match the checksum.
    """
    with atomic_path(dest) as tmp:
        with open(tmp, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
            while chunk := response.read(1 << 20):
                out.write(chunk)
        digest = hashlib.sha256(read_bytes(tmp)).hexdigest()
        if digest != file.sha256:  # raising here leaves `dest` untouched
            raise config_error(
                f"Downloaded file `url` has SHA-256 {digest} after decompression, expected {file.sha256}.",
                url=url,
            )
    return dest


def download_dataset(spec: DatasetSpec, folder: Path, *, mirrors: tuple[str, ...] | None = None) -> Path:
    """Download every missing file of `spec` into `folder`, trying each mirror in turn.

    Args:
        spec: the data set.
        folder: destination folder (created).
        mirrors: base URLs to use instead of `spec.mirrors`.

    Returns:
        `folder`.

    Raises:
        OSError: no mirror could provide a file (the last error is chained).
    """
    errors: list[str] = []
    for file in spec.files.values():
        if find_file(folder, file) is not None:
            continue
        for base in mirrors if mirrors is not None else spec.mirrors:
            url = base.rstrip("/") + "/" + file.name + ".gz"
            try:
                download_file(url, folder / f"{file.name}.gz", file)
                break
            except (OSError, urllib.error.URLError, ValueError) as exc:
                errors.append(f"{url}: {exc}")
        else:
            raise OSError("download failed: " + "; ".join(errors[-3:]))
    return folder


__all__ = ["download_dataset", "download_file"]
