"""IDX reader: round trips against NumPy, and corrupt / truncated / wrong files rejected with their name."""

from __future__ import annotations

import gzip
import hashlib

import numpy as np
import pytest

from convwise.core.errors import ConfigError
from convwise.data import FASHION_MNIST, parse_idx, read_idx, write_idx


@pytest.mark.parametrize("suffix", [".gz", ""])
@pytest.mark.parametrize("dtype", ["uint8", "int32", "float32"])
def test_round_trip_matches_numpy(tmp_path, suffix, dtype):
    rng = np.random.default_rng(0)
    array = (rng.random((7, 5, 3)) * 100).astype(dtype)
    path = write_idx(tmp_path / f"a{suffix}", array)
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == (suffix == ".gz")
    out = read_idx(path)
    assert out.dtype == array.dtype and out.shape == array.shape
    np.testing.assert_array_equal(out, array)


def test_header_layout_is_big_endian_idx(tmp_path):
    # Oracle: the IDX format as published (magic 0x00000803 for 3-D uint8, big-endian dims).
    path = write_idx(tmp_path / "x", np.zeros((2, 3, 4), np.uint8))
    raw = path.read_bytes()
    assert raw[:16] == bytes.fromhex("00000803000000020000000300000004")
    assert len(raw) == 16 + 24


def test_truncated_raw_file_rejected(tmp_path):
    path = write_idx(tmp_path / "labels-idx1-ubyte", np.arange(100, dtype=np.uint8))
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(
        ConfigError, match=r"has 98 bytes but its header \(100,\) needs 108.*labels-idx1-ubyte"
    ):
        read_idx(path)


def test_truncated_gzip_rejected(tmp_path):
    path = write_idx(tmp_path / "images.gz", np.arange(5000, dtype=np.int32).reshape(50, 100))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ConfigError, match=r"corrupt or truncated gzip file.*images\.gz"):
        read_idx(path)


def test_corrupted_gzip_rejected(tmp_path):
    path = write_idx(tmp_path / "c.gz", np.arange(2000, dtype=np.int32))
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ConfigError, match=r"c\.gz"):
        read_idx(path)


def test_bad_magic_and_type_rejected():
    with pytest.raises(ConfigError, match="no IDX magic number"):
        parse_idx(b"\x01\x00\x08\x01" + b"\x00\x00\x00\x00", name="f")
    with pytest.raises(ConfigError, match="unknown type code 0x07"):
        parse_idx(b"\x00\x00\x07\x01" + b"\x00\x00\x00\x00", name="f")
    with pytest.raises(ConfigError, match="truncated inside its header"):
        parse_idx(b"\x00\x00\x08\x03\x00", name="f")


def test_checksum_mismatch_names_the_file(tmp_path):
    path = write_idx(tmp_path / "w.gz", np.arange(10, dtype=np.uint8))
    with pytest.raises(ConfigError, match=r"does not have the expected content.*w\.gz"):
        read_idx(path, sha256="0" * 64)


def test_real_file_recompressed_is_accepted_and_a_flipped_byte_is_not(fashion_dir, tmp_path):
    """The checksum is of the decompressed content: a recompressed copy passes, a changed byte fails."""
    spec = FASHION_MNIST.files["test_labels"]
    original = fashion_dir / f"{spec.name}.gz"
    content = gzip.decompress(original.read_bytes())
    assert hashlib.sha256(content).hexdigest() == spec.sha256  # independent recomputation
    recompressed = tmp_path / f"{spec.name}.gz"
    recompressed.write_bytes(gzip.compress(content, compresslevel=1, mtime=12345))
    assert recompressed.read_bytes() != original.read_bytes()
    labels = read_idx(recompressed, sha256=spec.sha256)
    assert labels.shape == (10000,)
    assert np.bincount(labels).tolist() == [1000] * 10  # published: 1,000 test images per class
    raw = tmp_path / spec.name
    raw.write_bytes(content)
    np.testing.assert_array_equal(read_idx(raw, sha256=spec.sha256), labels)
    damaged = bytearray(content)
    damaged[500] = (damaged[500] + 1) % 10
    raw.write_bytes(bytes(damaged))
    with pytest.raises(ConfigError, match=f"does not have the expected content.*{spec.name}"):
        read_idx(raw, sha256=spec.sha256)
