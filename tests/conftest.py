"""Shared fixtures: where the real data sets are (skipping with a reason when absent), small BN nets."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def shared_data_root() -> Path:
    """The folder holding real Fashion-MNIST / MNIST IDX files ($CONVWISE_TEST_DATA or ../shared/data)."""
    env = os.environ.get("CONVWISE_TEST_DATA")
    return Path(env) if env else REPO_ROOT.parent / "shared" / "data"


def _dataset_dir(name: str) -> Path:
    folder = shared_data_root() / name
    if not (folder / "train-images-idx3-ubyte.gz").is_file():
        pytest.skip(
            f"real {name} IDX files not found in {folder} (set CONVWISE_TEST_DATA to their parent folder)"
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
