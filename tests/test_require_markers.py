"""`--require data` (CONVWISE_REQUIRE=data, set by .ci/run) makes the skip of a real-data test a failure."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

CONFTEST = Path(__file__).with_name("conftest.py")

TESTS = """
import pytest


@pytest.mark.data
def test_marked_data():
    pytest.skip("no data here")


def test_fixture_data(fashion_dir):  # gets the marker from the fixture it uses
    pass


def test_other():
    pytest.skip("not a data test")
"""


def _run(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    shutil.copy(CONFTEST, tmp_path / "conftest.py")
    (tmp_path / "test_sample.py").write_text(TESTS)
    (tmp_path / "pytest.ini").write_text("[pytest]\nmarkers =\n    data: real data\n")
    base = {k: v for k, v in os.environ.items() if k != "CONVWISE_REQUIRE"}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", *args],
        cwd=tmp_path,
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_required_marker_fails_its_skips_and_only_those(tmp_path: Path) -> None:
    # no data anywhere: an empty $CONVWISE_DATA_DIR, cache and test folder; the Debian folder may exist
    empty = tmp_path / "empty"
    empty.mkdir()
    env = {"CONVWISE_TEST_DATA": str(empty), "CONVWISE_DATA_DIR": str(empty), "XDG_CACHE_HOME": str(empty)}
    relaxed = _run(tmp_path, env=env)
    assert relaxed.returncode == 0, relaxed.stdout
    strict = _run(tmp_path, env={**env, "CONVWISE_REQUIRE": "data"})
    assert strict.returncode == 1, strict.stdout
    assert (
        "test_marked_data" in strict.stdout
        and "may not skip here (--require data): no data here" in strict.stdout
    )
    assert "1 failed, 1 passed, 1 skipped" in strict.stdout and ": not a data test" in strict.stdout
