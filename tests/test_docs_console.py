"""The console blocks of README.md and docs/{summary,variants,zoo}.md show what the commands print today;
the README's Python snippet prints what its comment says.

A block is a ```console fence: `$ convwise …` lines, each followed by its output. Output shown whole must
match exactly; output with `…` lines is a selection: every shown line must appear, in order. Commands that
need a training run, a user's own file or minutes of benchmarking are listed in `NOT_RUN` with the reason.
(docs/papers/*.md are pinned by tests/models/test_docs.py.)
"""

from __future__ import annotations

import contextlib
import io
import re
import shlex
from pathlib import Path

import pytest

from convwise.cli.main import main

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *(ROOT / "docs" / name for name in ("summary.md", "variants.md", "zoo.md"))]
FENCE = re.compile(r"```console\n(.*?)\n```", re.S)

_FORMATS = "docs/summary.md's model-file examples: tests/formats/test_docs_examples.py"

#: Commands shown but not run here, with the reason (prefix match on the command line).
NOT_RUN = {
    "convwise train": "trains for minutes (tests/train run the trainer)",
    "torchrun": "trains on two processes (tests/train/test_distributed.py)",
    "convwise export runs/": "needs a training run (tests/export run the exporter)",
    "convwise bench": "measures for minutes (tests/export/test_export_cli.py runs a small one)",
    "convwise report mobilenet_v1 --run runs/": "needs a training run (tests/viz run the report)",
    "convwise draw": "writes files; the figures are pinned by tests/viz/test_docs_figures.py",
    "convwise diagram": "writes a file; the diagram is tested by tests/viz/test_diagram.py",
    "convwise summary path/to/": "a placeholder path",
    "convwise summary my_pkg": "a placeholder package",
    "convwise summary net.py": "the reader's own file",
    "convwise whatif /tmp/": "the reader's own file",
    "python docs/make_figures.py": "writes docs/figures (tests/viz/test_docs_figures.py)",
    "convwise export ds_cnn -o ds_cnn.onnx": _FORMATS,
    "convwise summary ds_cnn.onnx": _FORMATS,
    "convwise summary seed_cnn.keras": _FORMATS,
    "convwise summary tests/fixtures/tflite/": _FORMATS,
}


def _commands() -> list[tuple[str, str, str]]:
    """(page, command, shown output) for every `$ ` line of every console block."""
    found = []
    for page in PAGES:
        for block in FENCE.findall(page.read_text()):
            lines = block.splitlines()
            starts = [i for i, line in enumerate(lines) if line.startswith("$ ")]
            for k, i in enumerate(starts):
                end = starts[k + 1] if k + 1 < len(starts) else len(lines)
                command = lines[i][2:].split("  #")[0].strip()
                found.append((page.name, command, "\n".join(lines[i + 1 : end])))
    return found


COMMANDS = _commands()
RUN = [c for c in COMMANDS if not any(c[1].startswith(p) for p in NOT_RUN)]


def _run(command: str) -> str:
    argv = shlex.split(command)
    assert argv[0] == "convwise", command
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(argv[1:]) == 0, command
    return out.getvalue()


@pytest.mark.parametrize(("page", "command", "shown"), RUN, ids=[f"{p}: {c}" for p, c, _ in RUN])
def test_console_block_shows_the_real_output(
    page: str, command: str, shown: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # rich lays tables out for the terminal's width
    monkeypatch.chdir(ROOT)
    actual = [line.rstrip() for line in _run(command).splitlines()]
    wanted = [line.rstrip() for line in shown.splitlines()]
    if all(w.strip() != "…" for w in wanted):
        assert actual == wanted, f"{page} is stale: rerun `{command}`"
        return
    position = 0
    for line in (w for w in wanted if w.strip() != "…"):
        assert line in actual[position:], f"{page}: `{command}` no longer prints {line!r}"
        position = actual.index(line, position) + 1


def test_the_blocks_are_found() -> None:
    commands = {c for _, c, _ in RUN}
    assert "convwise summary mobilenet_v1" in commands
    assert "examples/my_net.py" in (ROOT / "README.md").read_text()
    assert _run("convwise summary examples/my_net.py:build").count("Total params: 57,002") == 1
    assert len(RUN) >= 5


def test_readme_python_snippet_prints_what_it_says() -> None:
    text = (ROOT / "README.md").read_text()
    snippet = re.search(r"```python\n(.*?)\n```", text, re.S)
    assert snippet is not None
    code = snippet.group(1)
    said = re.findall(r"print\((.*?)\)\s*#\s*(.+)", code)
    assert said, "the snippet's printed values are stated in comments"
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md", "exec"), {})
    printed = out.getvalue().splitlines()
    assert printed[0] == said[0][1].strip() == "688 41984"  # the first print's comment is its output
