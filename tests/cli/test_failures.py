"""The catalogue of failures: every command, bad input or an output that cannot be written.

Each case runs `convwise ARGS` in an empty folder and asserts: exit status 2, exactly one line on stderr
(`convwise…: error: …`), the value at fault named in it, nothing on stdout claiming a file was written,
and no file or folder left behind. Outputs that cannot be written are tried three ways for every
command that writes: a path below a regular file, a folder no one may write (sysfs refuses even root),
and a full disk — a symlink to /dev/full, whose writes the kernel answers with ENOSPC (convwise writes
to a device in place; it never renames over it), and for `train` a real, filled tmpfs in a private
mount namespace (test_train_on_a_full_disk).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from convwise.cli.main import main

NET = """
import torch.nn as nn


def build(width: int = 8):
    return nn.Sequential(nn.Conv2d(3, width, 3), nn.ReLU(), nn.Flatten(), nn.LazyLinear(2))


def not_a_module():
    return 42
"""

DRAW = ["standard", "--input", "3x5x5", "--out", "2", "--kernel", "3"]
UNWRITABLE = "/sys/convwise-test"  # sysfs: EACCES/EPERM for everyone, root included


@dataclass(frozen=True)
class Case:
    """`argv` with {tmp} (the empty folder), {file} (a regular file in it), {full} (a link to /dev/full),
    {net} (a factory file), {data} (the real Fashion-MNIST folder); `named` must appear in the line."""

    id: str
    argv: tuple[str, ...]
    named: str
    data: bool = False
    full_suffix: str | None = None


def _writes(command: str, argv: list[str], suffix: str, *, data: bool = False) -> list[Case]:
    """The three unwritable outputs for one command writing `-o PATH` (or --run-dir)."""
    flag = "--run-dir" if command == "train" else "-o"
    below, unwritable = f"{{file}}/out{suffix}", f"{UNWRITABLE}/out{suffix}"
    cases = [
        Case(f"{command}-below-a-file", (command, *argv, flag, below), f"cannot write {below}: ", data),
        Case(
            f"{command}-unwritable", (command, *argv, flag, unwritable), f"cannot write {unwritable}: ", data
        ),
    ]
    if command != "train":  # a run folder cannot be a device: see test_train_on_a_full_disk
        full = "cannot write {full}: No space left on device"
        cases.append(Case(f"{command}-disk-full", (command, *argv, flag, "{full}"), full, data, suffix))
    return cases


TRAIN = ["--recipe", "seed", "--data-dir", "{data}", "--train-subset", "64", "--epochs", "1", "--no-progress"]

CASES: list[Case] = [
    # outputs that cannot be written
    *_writes("summary", ["kws_cnn"], ".txt"),
    *_writes("draw", DRAW, ".svg"),
    *_writes("draw", DRAW, ".png")[2:],  # PNG (matplotlib's own writer) on a full disk too
    *_writes("diagram", ["kws_cnn"], ".svg"),
    # several outputs: all or none (the first, writable, must not be left behind)
    Case("draw-second-below-a-file", ("draw", *DRAW, "-o", "a.svg", "-o", "{file}/b.png"),
         "cannot write {file}/b.png: "),
    Case("draw-second-unwritable", ("draw", *DRAW, "-o", "a.png", "-o", "a.svg", "-o", f"{UNWRITABLE}/b.svg"),
         f"cannot write {UNWRITABLE}/b.svg: "),
    Case("draw-second-disk-full", ("draw", *DRAW, "-o", "a.svg", "-o", "{full}"),
         "cannot write {full}: No space left on device", full_suffix=".png"),
    Case("diagram-second-unwritable", ("diagram", "kws_cnn", "-o", "a.svg", "-o", f"{UNWRITABLE}/b.png"),
         f"cannot write {UNWRITABLE}/b.png: "),
    *_writes("report", ["kws_cnn", "--no-figures", "--no-graph"], ".html"),
    *_writes("whatif", ["kws_cnn", "--to", "separable"], ".pt"),
    *_writes("export", ["kws_cnn"], ".onnx"),
    *_writes("train", TRAIN, "", data=True),
    Case("experiment-below-a-file", ("experiment", "-o", "{file}/exp", "--data-dir", "{data}"),
         "cannot write {file}/exp: ", True),
    # input shapes: every TARGET command checks CxHxW before building a forward
    Case("layer-input-rank", ("layer", "standard", "--input", "3x5", "--out", "2", "--kernel", "3"), "3x5"),
    Case("summary-input-rank", ("summary", "kws_cnn", "--input", "3x224"), "3x224"),
    Case("summary-input-rank-factory", ("summary", "{net}:build", "--input", "3x224"), "3x224"),
    Case("diagram-input-rank", ("diagram", "kws_cnn", "--input", "3x224"), "3x224"),
    Case("report-input-rank", ("report", "kws_cnn", "--input", "3x224"), "3x224"),
    Case("whatif-input-rank", ("whatif", "kws_cnn", "--input", "3x224", "--to", "separable"), "3x224"),
    Case("export-input-rank", ("export", "kws_cnn", "--input", "3x224", "-o", "m.onnx"), "3x224"),
    Case("bench-input-rank", ("bench", "kws_cnn", "--input", "3x224"), "3x224"),
    # factories and their configuration
    Case("factory-not-a-module", ("summary", "{net}:not_a_module", "--input", "3x8x8"), "an int: 42"),
    Case("factory-unknown-key", ("summary", "{net}:build", "--input", "3x8x8", "--config", "depth=3"),
         "has no parameter `depth` (it takes: width). Received: depth=3."),
    Case("factory-bad-value", ("diagram", "{net}:build", "--input", "3x8x8", "--config", "width=abc"),
         "must be an int (default 8). Received: width='abc'."),
    Case("zoo-unknown-key", ("summary", "mobilenet_v1", "--config", "foo=1"), "foo=1"),
    Case("zoo-bad-value", ("report", "kws_cnn", "--config", "num_classes=abc"), "num_classes='abc'"),
    Case("zoo-unknown-model", ("whatif", "no_such_net", "--to", "separable"), "no_such_net"),
    Case("config-not-key-value", ("summary", "kws_cnn", "--config", "width"), "width"),
    # checkpoints and run folders
    Case("evaluate-folder-without-best", ("evaluate", "{tmp}"), "holds no best.pt"),
    Case("evaluate-missing-file", ("evaluate", "{tmp}/gone.pt"), "gone.pt"),
    Case("export-missing-checkpoint", ("export", "{tmp}/gone.pt", "-o", "m.onnx"), "gone.pt"),
    Case("report-run-without-metrics", ("report", "kws_cnn", "--run", "{tmp}", "-o", "r.html"), "{tmp}"),
    Case("train-resume-nothing", ("train", "--resume", "{tmp}/nothing"), "nothing"),
    Case("train-unknown-dataset", ("train", "--dataset", "cifar"), "cifar"),
    Case("train-bad-config", ("train", "--config", "lr=abc", "--data-dir", "{data}"), "lr='abc'", True),
    # other arguments, one command each
    Case("compare-zero-out", ("compare", "--input", "3x5x5", "--out", "0", "--kernel", "3"), "out='0'"),
    Case("layer-groups-divide",
         ("layer", "grouped", "--input", "4x5x5", "--out", "10", "--kernel", "3", "--groups", "3"),
         "in_channels=4, groups=3"),
    Case("draw-suffix", ("draw", *DRAW, "-o", "x.gif"), "x.gif"),
    Case("diagram-suffix", ("diagram", "kws_cnn", "-o", "x.pdf"), "x.pdf"),
    Case("whatif-unknown-rewrite", ("whatif", "kws_cnn", "--to", "nothing"), "nothing"),
    Case("report-bad-whatif", ("report", "kws_cnn", "--whatif", "grouped:0", "-o", "r.html"), "grouped:0"),
    Case("export-bad-format", ("export", "kws_cnn", "-o", "m.pb"), "m.pb"),
    Case("export-bad-quantize", ("export", "kws_cnn", "-o", "m.onnx", "--quantize", "int4"), "int4"),
    Case("bench-bad-threads", ("bench", "kws_cnn", "--threads", "0"), "threads='0'"),
    Case("paper-unknown-table", ("paper", "mobilenet", "--table", "table99"), "table99"),
    Case("paper-unknown-paper", ("paper", "resnet"), "resnet"),
    Case("zoo-extra-argument", ("zoo", "mobilenet"), "mobilenet"),
    Case("experiment-unknown-variant", ("experiment", "--variants", "dense"), "dense"),
    Case("summary-bad-batch", ("summary", "kws_cnn", "--batch", "0"), "batch='0'"),
]  # fmt: skip


def _tree(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


@pytest.fixture()
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """An empty working folder with a regular file, a link to /dev/full and a factory file beside it."""
    work = tmp_path / "work"
    work.mkdir()
    aside = tmp_path / "aside"
    aside.mkdir()
    (aside / "file").write_text("a regular file\n")
    (aside / "net.py").write_text(NET)
    monkeypatch.chdir(work)
    return {"tmp": str(work), "file": str(aside / "file"), "net": str(aside / "net.py"), "aside": str(aside)}


def _full(workdir: dict[str, str], suffix: str) -> str:
    link = Path(workdir["aside"]) / f"full{suffix}"
    link.symlink_to("/dev/full")
    return str(link)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_failure_is_one_line_naming_the_value_and_leaves_nothing(
    case: Case, workdir: dict[str, str], request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str]
) -> None:
    values = dict(workdir)
    if case.data:
        values["data"] = str(request.getfixturevalue("fashion_dir"))
    if case.full_suffix is not None:
        values["full"] = _full(workdir, case.full_suffix)
    argv = [a.format(**values) for a in case.argv]
    work, aside = Path(workdir["tmp"]), Path(workdir["aside"])
    before, before_aside = _tree(work), _tree(aside)
    with pytest.raises(SystemExit) as exited:  # argparse errors exit; our own return 2
        raise SystemExit(main(argv))
    out, err = capsys.readouterr()
    assert exited.value.code == 2, (out, err)
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert err.startswith("convwise") and ": error: " in err, err
    assert case.named.format(**values) in err, err
    assert "Traceback" not in err and "wrote " not in out
    assert _tree(work) == before, "left behind in the working folder"
    assert _tree(aside) == before_aside, "left behind beside the inputs"
    assert Path("/dev/full").is_char_device(), "/dev/full was replaced"


def test_several_outputs_keep_the_previous_files_when_one_cannot_be_written(
    workdir: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    Path("a.svg").write_text("old drawing")
    Path("a.png").write_bytes(b"old picture")
    argv = ["draw", *DRAW, "-o", "a.svg", "-o", "new/c.svg", "-o", "a.png", "-o", f"{workdir['file']}/b.png"]
    assert main(argv) == 2
    file = workdir["file"]
    assert (
        capsys.readouterr().err
        == f"convwise: error: cannot write {file}/b.png: {file} is a file, not a folder\n"
    )
    assert Path("a.svg").read_text() == "old drawing" and Path("a.png").read_bytes() == b"old picture"
    assert sorted(_tree(Path.cwd())) == ["a.png", "a.svg"]  # no new/ folder, no temporary files
    assert main(["draw", *DRAW, "-o", "a.svg", "-o", "new/c.svg", "-o", "a.png"]) == 0  # and when all can be
    assert Path("a.svg").read_text() == Path("new/c.svg").read_text() != "old drawing"
    assert Path("a.png").read_bytes().startswith(b"\x89PNG")


def test_catalogue_covers_every_command() -> None:
    from convwise.cli.main import COMMANDS

    assert len(CASES) >= 30
    assert {c.argv[0] for c in CASES} == set(COMMANDS)
    writers = {"summary", "draw", "diagram", "report", "whatif", "export", "train"}
    for command in writers:
        kinds = {c.id.removeprefix(command + "-") for c in CASES if c.argv[0] == command}
        assert {"below-a-file", "unwritable"} <= kinds, command
        assert command == "train" or "disk-full" in kinds, command


def _can_mount_tmpfs() -> str | None:
    """Why a private tmpfs cannot be mounted here, or None when it can."""
    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        return "needs root on Linux (a private mount namespace for a small tmpfs)"
    if shutil.which("unshare") is None:
        return "needs util-linux's unshare"
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True)
    return None if probe.returncode == 0 else f"unshare -m refused: {probe.stderr.decode().strip()}"


def test_train_on_a_full_disk(tmp_path: Path) -> None:
    """`train --run-dir` on a real full file system: one line, exit 2, and no run folder left on it.

    Not a `data` test (its skip is about mount namespaces, which CI need not allow): it finds the data
    itself and skips without it, like without `unshare`.
    """
    from convwise.core.errors import ConfigError
    from convwise.data.locate import locate_dataset

    why = _can_mount_tmpfs()
    try:
        fashion_dir: Path | None = locate_dataset("fashion-mnist", download=False)
    except ConfigError:
        shared = Path(os.environ.get("CONVWISE_TEST_DATA") or Path(__file__).parents[3] / "shared" / "data")
        fashion_dir = shared / "fashion-mnist" if (shared / "fashion-mnist").is_dir() else None
    if why or fashion_dir is None:
        pytest.skip(why or "real Fashion-MNIST not found")
    disk = tmp_path / "disk"
    disk.mkdir()
    script = textwrap.dedent(
        """
        set -u
        mount -t tmpfs -o size=64k tmpfs "$DISK" || exit 90
        head -c 1M /dev/zero > "$DISK/fill" 2>/dev/null
        "$@" 2> "$ERR"; rc=$?
        rm "$DISK/fill"; ls -A "$DISK" > "$LISTING"
        exit $rc
        """
    )
    env = {**os.environ, "DISK": str(disk), "ERR": str(tmp_path / "err"), "LISTING": str(tmp_path / "ls")}
    argv = [a.format(data=fashion_dir) for a in TRAIN]
    command = [sys.executable, "-m", "convwise", "train", *argv, "--run-dir", f"{disk}/run"]
    proc = subprocess.run(
        ["unshare", "-m", "sh", "-c", script, "sh", *command],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode != 90, "mounting the tmpfs failed"
    err = (tmp_path / "err").read_text()
    assert proc.returncode == 2, (proc.stdout, err)
    assert err == f"convwise: error: cannot write {disk}/run/config.json: No space left on device\n"
    assert (tmp_path / "ls").read_text() == "", "the run folder was left on the full disk"
