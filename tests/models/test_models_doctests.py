"""The examples in the docstrings of the what-if, the reverse what-if and the paper tables run as shown."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import convwise.models.papers

MODULES = [
    "convwise.models.whatif",
    "convwise.models.whatif_report",
    "convwise.models.reverse",
    "convwise.models.papers",
    *(
        f"convwise.models.papers.{info.name}"
        for info in pkgutil.iter_modules(convwise.models.papers.__path__)
    ),
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
