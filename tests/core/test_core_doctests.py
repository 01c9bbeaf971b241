"""The examples in the docstrings of `convwise.core` and `convwise.layers` run and print what they say."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import convwise.core
import convwise.layers

MODULES = [
    f"{pkg.__name__}.{info.name}"
    for pkg in (convwise.core, convwise.layers)
    for info in pkgutil.iter_modules(pkg.__path__)
] + ["convwise.core", "convwise.layers"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
