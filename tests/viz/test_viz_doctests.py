"""The examples in the docstrings of the drawing code and of the rich views run as shown."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "convwise.viz.canvas",
    "convwise.viz.fonts",
    "convwise.viz.panels",
    "convwise.viz.draw",
    "convwise.views",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
