"""Helpers for training tests: tiny recipes on real data, quiet consoles, thread count restored."""

from __future__ import annotations

import dataclasses
import io

import pytest
import torch
from rich.console import Console

from convwise.train.recipes import TrainConfig, get_recipe


@pytest.fixture(autouse=True)
def _restore_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def _tiny(recipe: str = "seed", **overrides) -> TrainConfig:
    """A recipe shrunk to a few hundred images (single thread, so results are bit-reproducible)."""
    base = {"train_subset": 256, "val_size": 256, "test_subset": 256, "epochs": 3, "threads": 1}
    base.update(overrides)
    return dataclasses.replace(get_recipe(recipe), **base)


def _quiet() -> dict:
    """train() keyword arguments for a silent run without optional outputs."""
    return {"console": Console(file=io.StringIO()), "progress": False, "tensorboard": False, "plots": False}


@pytest.fixture()
def tiny():
    """Factory of tiny recipes: tiny("default", epochs=2)."""
    return _tiny


@pytest.fixture()
def quiet():
    """Factory of quiet train() keyword arguments."""
    return _quiet
