"""Registry and TARGET resolution: zoo names, user files, modules; bad targets raise ConfigError."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import torch
from torch import nn

from convwise.core import ConfigError
from convwise.models import build, list_models, register, resolve_target


def test_duplicate_registration_raises() -> None:
    with pytest.raises(ConfigError, match=r"already registered\. Received: name='fashion_separable_cnn'\."):
        register("fashion_separable_cnn", description="dup", input_shape=(1, 28, 28))(lambda: nn.Identity())


def test_unknown_zoo_name_lists_known_models() -> None:
    expected = r"Unknown model\. Known models: .*fashion_separable_cnn.*model='nope'"
    with pytest.raises(ConfigError, match=expected):
        build("nope")


def test_bad_config_is_a_config_error() -> None:
    expected = (
        r"^model `fashion_separable_cnn` has no parameter `no_such_option`\. Received: no_such_option=1"
    )
    with pytest.raises(ConfigError, match=expected):
        build("fashion_separable_cnn", no_such_option=1)


def test_every_zoo_model_builds_and_has_params() -> None:
    for entry in list_models():
        model = entry.builder()
        assert isinstance(model, nn.Module)
        assert sum(p.numel() for p in model.parameters()) > 0, entry.name


def test_zoo_target_gives_input_shape() -> None:
    loaded = resolve_target("fashion_separable_cnn")
    assert loaded.zoo and loaded.input_shape == (1, 28, 28)
    out = loaded.model(torch.zeros(2, *loaded.input_shape))
    assert out.shape == (2, 10)


@pytest.fixture()
def user_file(tmp_path: Path) -> Path:
    path = tmp_path / "mynet.py"
    path.write_text(
        textwrap.dedent("""
        import torch.nn as nn
        INPUT_SHAPE = (3, 16, 16)
        def make(width=8):
            return nn.Sequential(nn.Conv2d(3, width, 3), nn.ReLU(), nn.Conv2d(width, 4, 1))
        def broken():
            raise RuntimeError("boom")
        def not_a_model():
            return 42
        instance = nn.Linear(2, 3)
        constant = 7
    """)
    )
    return path


def test_file_target_calls_factory_with_config(user_file: Path) -> None:
    loaded = resolve_target(f"{user_file}:make", width=5)
    assert loaded.input_shape == (3, 16, 16) and not loaded.zoo
    assert loaded.model[0].out_channels == 5


def test_file_target_accepts_module_instance(user_file: Path) -> None:
    assert isinstance(resolve_target(f"{user_file}:instance").model, nn.Linear)


@pytest.mark.parametrize(
    ("suffix", "message"),
    [
        (":missing", r"has no attribute `missing`"),
        (":broken", r"The factory `.*:broken` raised RuntimeError: boom"),
        (":not_a_model", r"must return a torch\.nn\.Module; it returned an int: \d+\. Received: target="),
        (":constant", r"neither a factory nor an nn\.Module"),
    ],
)
def test_bad_file_targets(user_file: Path, suffix: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        resolve_target(f"{user_file}{suffix}")


def test_missing_file_and_module(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"target file does not exist"):
        resolve_target(f"{tmp_path}/absent.py:make")
    with pytest.raises(ConfigError, match=r"Cannot import module `no_such_pkg_xyz\.models`: No module named"):
        resolve_target("no_such_pkg_xyz.models:make")
    with pytest.raises(ConfigError, match=r"needs the factory after a colon"):
        resolve_target("model.py")


def test_module_target() -> None:
    loaded = resolve_target("convwise.models.fashion:fashion_separable_cnn", num_classes=3)
    assert loaded.model(torch.zeros(1, 1, 28, 28)).shape == (1, 3)
