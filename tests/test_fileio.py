"""Atomic writes: the destination holds the old or the complete new content, never a partial file."""

from __future__ import annotations

import os
import stat

import pytest

from convwise.fileio import atomic_file, atomic_path, atomic_write_bytes, atomic_write_text


def test_a_failing_write_keeps_the_previous_file_and_leaves_no_temporary(tmp_path) -> None:
    path = tmp_path / "report.html"
    atomic_write_text("old", path)
    with pytest.raises(RuntimeError, match="boom"), atomic_file(path, "w") as fh:
        fh.write("half of the new")
        raise RuntimeError("boom")
    assert path.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]


def test_a_completed_write_replaces_the_file_with_normal_permissions(tmp_path) -> None:
    path = tmp_path / "sub" / "figure.png"
    atomic_write_bytes(b"\x89PNG old", path)
    atomic_write_bytes(b"\x89PNG new", path)
    assert path.read_bytes() == b"\x89PNG new"
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~mask  # not mkstemp's 0600


def test_atomic_path_keeps_the_suffix_for_tools_that_pick_a_format_by_it(tmp_path) -> None:
    path = tmp_path / "model.onnx"
    with atomic_path(path) as tmp:
        assert tmp.parent == tmp_path and tmp.suffix == ".onnx" and tmp != path
        tmp.write_bytes(b"onnx")
        assert not path.exists()  # nothing visible until the block completes
    assert path.read_bytes() == b"onnx" and not tmp.exists()
