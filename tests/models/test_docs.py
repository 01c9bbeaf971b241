"""The paper pages in docs/papers show the real, current output of `convwise paper`."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from convwise.cli.main import main

DOCS = Path(__file__).resolve().parents[2] / "docs" / "papers"
BLOCK = re.compile(r"```console\n\$ (convwise paper .*?)\n(.*?)\n```", re.S)


def _blocks() -> list[tuple[str, str, str]]:
    if not DOCS.is_dir():
        return []
    return [
        (p.name, m.group(1), m.group(2))
        for p in sorted(DOCS.glob("*.md"))
        for m in BLOCK.finditer(p.read_text())
    ]


@pytest.mark.parametrize(("page", "command", "shown"), _blocks())
def test_page_shows_the_real_output(
    page: str, command: str, shown: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(shlex.split(command)[1:]) == 0
    assert capsys.readouterr().out.rstrip("\n") == shown, f"{page} is stale: rerun `{command}`"


def test_every_table_has_a_page() -> None:
    assert len(_blocks()) == 7
