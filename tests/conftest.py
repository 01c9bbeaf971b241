"""Shared fixtures: where the real data sets are, small BN nets; real-data tests that may not skip in CI.

The real Fashion-MNIST / MNIST files are found where a user has them — the lookup `convwise train`
uses (`--data-dir` aside: $CONVWISE_DATA_DIR, the user cache, Debian's `dataset-fashion-mnist` under
/usr/share/datasets), never downloading — and only then in $CONVWISE_TEST_DATA or ../shared/data.
Without them the tests that need them skip with a reason; with `--require data` (or
CONVWISE_REQUIRE=data, which .ci/run sets, with `browser` and, in its TFLite step, `tflite`) such a
skip is a failure instead.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
DATA_FIXTURES = ("fashion_dir", "mnist_dir")
REQUIRE_ENV = "CONVWISE_REQUIRE"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--require",
        metavar="MARKERS",
        default=os.environ.get(REQUIRE_ENV, ""),
        help="comma-separated markers (data, browser, tflite) whose tests must run: a skip of such a "
        f"test is a failure (default: ${REQUIRE_ENV}; .ci/run sets it)",
    )


def required_markers(config: pytest.Config) -> set[str]:
    """The markers named by --require / $CONVWISE_REQUIRE."""
    return {m.strip() for m in str(config.getoption("--require")).split(",") if m.strip()}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test that uses a real data set carries the `data` marker (so `-m data` selects them all)."""
    for item in items:
        if any(name in getattr(item, "fixturenames", ()) for name in DATA_FIXTURES):
            item.add_marker(pytest.mark.data)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Any:
    """A skipped test carrying a required marker fails, with the skip's reason."""
    outcome = yield
    report = outcome.get_result()
    if not report.skipped:
        return
    required = sorted(m for m in required_markers(item.config) if item.get_closest_marker(m))
    if required:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        reason = reason.removeprefix("Skipped: ")
        report.outcome = "failed"
        report.longrepr = f"a `{required[0]}` test may not skip here (--require {required[0]}): {reason}"


def shared_data_root() -> Path:
    """The folder of the developers' copy: $CONVWISE_TEST_DATA, else ../shared/data beside the repository."""
    env = os.environ.get("CONVWISE_TEST_DATA")
    return Path(env) if env else REPO_ROOT.parent / "shared" / "data"


def find_dataset(name: str) -> tuple[Path | None, list[str]]:
    """The folder holding the real IDX files of `name`, and every place looked at."""
    from convwise.data.datasets import folder_has_dataset, get_spec
    from convwise.data.locate import search_path

    spec = get_spec(name)
    places = [(origin, folder) for origin, folder in search_path(spec)]
    places.append(("$CONVWISE_TEST_DATA or ../shared/data", shared_data_root() / spec.name))
    for _origin, folder in places:
        if folder_has_dataset(folder, spec):
            return folder, []
    return None, [f"{folder} ({origin})" for origin, folder in places]


def _dataset_dir(name: str) -> Path:
    folder, searched = find_dataset(name)
    if folder is None:
        pytest.skip(
            f"real {name} IDX files not found; searched: {'; '.join(searched)}. "
            + ("apt-get install dataset-fashion-mnist, or " if name == "fashion-mnist" else "")
            + "set CONVWISE_TEST_DATA to a folder holding a folder of that name"
        )
    return folder


@pytest.fixture(scope="session")
def fashion_dir() -> Path:
    """Folder with the real Fashion-MNIST IDX gzip files; skips the test when absent."""
    return _dataset_dir("fashion-mnist")


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """Folder with the real MNIST IDX gzip files; skips the test when absent."""
    return _dataset_dir("mnist")


@pytest.fixture
def bn_net() -> Any:
    """The small separable net with randomised BatchNorm statistics, in eval mode."""
    import torch

    from bn_nets import randomize_bn, small_separable_net

    torch.manual_seed(0)
    return randomize_bn(small_separable_net())
