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


def test_an_os_error_on_the_write_is_one_write_error_and_leaves_no_folder(tmp_path) -> None:
    import errno

    from convwise.core.errors import WriteError

    path = tmp_path / "new" / "deeper" / "out.txt"
    with pytest.raises(WriteError) as info, atomic_file(path, "w"):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))  # what write(2) says on a full disk
    assert str(info.value) == f"cannot write {path}: No space left on device"
    assert list(tmp_path.iterdir()) == []  # neither the temporary file nor the folders made for it


def test_an_os_error_about_another_file_is_not_blamed_on_the_output(tmp_path) -> None:
    with pytest.raises(FileNotFoundError), atomic_path(tmp_path / "out.onnx"):
        open(tmp_path / "missing-input.bin", "rb")  # noqa: SIM115
    assert list(tmp_path.iterdir()) == []


def test_a_device_is_written_in_place_never_replaced(tmp_path) -> None:
    from convwise.core.errors import WriteError

    link = tmp_path / "full.txt"
    link.symlink_to("/dev/full")
    with pytest.raises(WriteError, match=r"cannot write .*full\.txt: No space left on device"):
        atomic_write_text("x" * 100_000, link)
    assert link.is_symlink() and stat.S_ISCHR(os.stat("/dev/full").st_mode)
    null = tmp_path / "null.txt"
    null.symlink_to("/dev/null")
    atomic_write_text("discarded", null)
    assert null.is_symlink() and sorted(p.name for p in tmp_path.iterdir()) == ["full.txt", "null.txt"]


def test_paths_below_a_file_and_folders_are_named(tmp_path) -> None:
    from convwise.core.errors import WriteError
    from convwise.fileio import make_folder, new_folder

    (tmp_path / "file").write_text("")
    with pytest.raises(WriteError, match=r"cannot write .*file/a/b\.txt: .*file is a file, not a folder$"):
        atomic_write_text("x", tmp_path / "file" / "a" / "b.txt")
    with pytest.raises(WriteError, match=r"cannot write .*/file: it is a file, not a folder$"):
        make_folder(tmp_path / "file")
    with pytest.raises(WriteError, match=r"cannot write .*/sub: it is a folder$"):
        atomic_write_text("x", make_folder(tmp_path / "sub"))
    with pytest.raises(RuntimeError), new_folder(tmp_path / "run" / "1") as run:
        atomic_write_text("{}", run / "config.json")
        raise RuntimeError("the run cannot start")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "sub"]


def test_several_files_change_together_or_not_at_all(tmp_path, monkeypatch) -> None:
    from convwise.core.errors import WriteError
    from convwise.fileio import atomic_paths

    old, new = tmp_path / "old.svg", tmp_path / "sub" / "new.png"
    old.write_text("previous")
    with atomic_paths([old, new]) as (a, b):
        assert a.parent == tmp_path and b.parent == tmp_path / "sub" and not new.exists()
        a.write_text("first")
        b.write_bytes(b"second")
    assert (old.read_text(), new.read_bytes()) == ("first", b"second")
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["new.png", "old.svg", "sub"]

    # a rename that fails half-way (the second of three) puts the first back and removes nothing else
    third = tmp_path / "third.txt"
    real_replace, calls = os.replace, []

    def failing_replace(src, dst):
        calls.append(dst)
        if len(calls) == 2:
            raise OSError(13, "Permission denied", str(dst))
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", failing_replace)
    match = r"cannot write .*sub/new\.png: Permission denied"
    with pytest.raises(WriteError, match=match), atomic_paths([old, new, third]) as (a, b, c):
        a.write_text("third version")
        b.write_bytes(b"third version")
        c.write_text("a new file")
    monkeypatch.setattr(os, "replace", real_replace)
    assert calls == [old, new, new, old]  # the rollback put both back from their links (third never moved)
    assert (old.read_text(), new.read_bytes()) == ("first", b"second")
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["new.png", "old.svg", "sub"]
