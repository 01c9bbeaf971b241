"""The examples in the docstrings of `convwise.formats` run and print what they say."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import convwise.formats

MODULES = [f"convwise.formats.{info.name}" for info in pkgutil.iter_modules(convwise.formats.__path__)]
_NEEDS = {"onnx_file": "onnx", "load": "onnx", "keras_file": "keras", "tflite_file": "tflite"}


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    needed = _NEEDS.get(name.rpartition(".")[2])
    if needed:
        pytest.importorskip(needed, reason=f"{needed} is not installed")
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
