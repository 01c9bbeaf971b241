"""Reader for IDX files (the MNIST file format), gzip-compressed or raw, with strict validation.

>>> import tempfile
>>> import numpy as np
>>> from pathlib import Path
>>> with tempfile.TemporaryDirectory() as tmp:
...     path = write_idx(Path(tmp) / "x-idx3-ubyte.gz", np.arange(24, dtype=np.uint8).reshape(2, 3, 4))
...     images = read_idx(path)
>>> images.shape, images.dtype.name, images[1, 2].tolist()
((2, 3, 4), 'uint8', [20, 21, 22, 23])
"""

from __future__ import annotations

import gzip
import hashlib
import zlib
from pathlib import Path

import numpy as np

from convwise.core.errors import ConfigError, config_error

# IDX type codes (third byte of the magic number) -> numpy big-endian dtype.
_DTYPES: dict[int, str] = {
    0x08: "u1",
    0x09: "i1",
    0x0B: ">i2",
    0x0C: ">i4",
    0x0D: ">f4",
    0x0E: ">f8",
}

GZIP_MAGIC = b"\x1f\x8b"


def read_bytes(path: str | Path) -> bytes:
    """The decompressed content of an IDX file, gzip or raw (detected from the content, not the name).

    Args:
        path: file to read.

    Returns:
        The raw IDX bytes.

    Raises:
        ConfigError: the file is missing, or its gzip stream is truncated or corrupt.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise config_error("IDX file `path` cannot be read: " + exc.strerror + ".", path=str(path)) from exc
    if data[:2] == GZIP_MAGIC:
        try:
            return gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise config_error(
                f"IDX file `path` is a corrupt or truncated gzip file ({exc}).", path=str(path)
            ) from exc
    return data


def parse_idx(data: bytes, *, name: str = "<bytes>") -> np.ndarray:
    """Parse IDX bytes into an array, checking magic number, dimensions and size.

    Args:
        data: decompressed IDX content.
        name: file name used in error messages.

    Returns:
        A read-only-safe copy as a numpy array of the shape stored in the header.

    Raises:
        ConfigError: bad magic number, unknown type code, or a size that does not match the header.
    """
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise config_error("IDX file `path` has no IDX magic number (expected 0x0000TTNN).", path=name)
    type_code, ndim = data[2], data[3]
    if type_code not in _DTYPES:
        raise config_error(f"IDX file `path` has an unknown type code 0x{type_code:02x}.", path=name)
    if ndim == 0:
        raise config_error("IDX file `path` declares 0 dimensions.", path=name)
    header = 4 + 4 * ndim
    if len(data) < header:
        raise config_error("IDX file `path` is truncated inside its header.", path=name)
    dims = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_DTYPES[type_code])
    expected = header + int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    if len(data) != expected:
        raise config_error(
            f"IDX file `path` has {len(data)} bytes but its header {dims} needs {expected} "
            "(truncated or padded).",
            path=name,
        )
    return np.frombuffer(data, dtype=dtype, offset=header).reshape(dims).astype(dtype.newbyteorder("="))


def read_idx(path: str | Path, *, sha256: str | None = None) -> np.ndarray:
    """Read and validate an IDX file (gzip or raw).

    Args:
        path: the file.
        sha256: expected SHA-256 of the decompressed content (hex); None skips the check.

    Returns:
        The array stored in the file.

    Raises:
        ConfigError: the file is missing, corrupt, truncated, or its checksum differs.
    """
    data = read_bytes(path)
    if sha256 is not None:
        digest = hashlib.sha256(data).hexdigest()
        if digest != sha256:
            raise config_error(
                "IDX file `path` does not have the expected content (SHA-256 of the decompressed bytes "
                f"is {digest}, expected {sha256}); it is corrupt, truncated or another file.",
                path=str(path),
            )
    return parse_idx(data, name=str(path))


def write_idx(path: str | Path, array: np.ndarray, *, compress: bool | None = None) -> Path:
    """Write `array` as an IDX file (gzip when `compress` or the name ends in .gz). Used by tests and tools.

    Args:
        path: destination.
        array: uint8/int8/int16/int32/float32/float64 array.
        compress: force gzip on/off; None decides from the suffix.

    Returns:
        The path written.
    """
    path = Path(path)
    codes = {np.dtype(v).newbyteorder("=").str: k for k, v in _DTYPES.items()}
    arr = np.asarray(array)
    key = arr.dtype.newbyteorder("=").str
    if key not in codes:
        raise config_error("`array.dtype` has no IDX type code.", dtype=str(arr.dtype))
    code = codes[key]
    header = bytes([0, 0, code, arr.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
    payload = header + arr.astype(np.dtype(_DTYPES[code])).tobytes()
    if compress if compress is not None else path.suffix == ".gz":
        payload = gzip.compress(payload, mtime=0)
    path.write_bytes(payload)
    return path


__all__ = ["ConfigError", "parse_idx", "read_bytes", "read_idx", "write_idx"]
