"""The examples in the docstrings of every module of `convwise` run and print what they say.

Every module is collected (`pkgutil.walk_packages` over src/convwise), so a new module is checked as soon
as it exists. A module must have examples unless it is listed in `WITHOUT_EXAMPLES` below — the list of
what still lacks them (STYLE.md asks for an example per public function); a listed module that gains
examples must leave the list, so the list stays true. The public API of the packages named in
`EVERY_PUBLIC_CALLABLE` has an example on every public function and class.
"""

from __future__ import annotations

import doctest
import importlib
import inspect
import pkgutil

import pytest

import convwise

MODULES = [
    "convwise",
    *sorted(
        info.name
        for info in pkgutil.walk_packages(convwise.__path__, "convwise.")
        if not info.name.endswith("__main__")  # runs the command line when imported
    ),
]

#: Modules with no docstring example yet (their owners add them; remove a module once it has one).
WITHOUT_EXAMPLES = {
    "convwise",
    "convwise.cli",
    "convwise.cli.cmd_bench",
    "convwise.cli.cmd_compare",
    "convwise.cli.cmd_diagram",
    "convwise.cli.cmd_draw",
    "convwise.cli.cmd_evaluate",
    "convwise.cli.cmd_experiment",
    "convwise.cli.cmd_layer",
    "convwise.cli.cmd_paper",
    "convwise.cli.cmd_report",
    "convwise.cli.cmd_summary",
    "convwise.cli.cmd_whatif",
    "convwise.cli.cmd_zoo",
    "convwise.cli.main",
    "convwise.data",
    "convwise.export",
    "convwise.export.onnx_io",
    "convwise.export.tflite",
    "convwise.formats",
    "convwise.formats.keras_layers",
    "convwise.formats.tflite_file",
    "convwise.layers",
    "convwise.measure",
    "convwise.measure.results",
    "convwise.measure.tables",
    "convwise.models",
    "convwise.models.blocks",
    "convwise.models.checkpoint",
    "convwise.models.dscnn",
    "convwise.models.fashion",
    "convwise.models.kws",
    "convwise.models.mobilenet",
    "convwise.models.mobilenetv2",
    "convwise.models.papers.dscnn",
    "convwise.models.papers.published",
    "convwise.models.registry",
    "convwise.models.source",
    "convwise.models.target",
    "convwise.models.whatif_report",
    "convwise.profile.breakdown",
    "convwise.profile.categories",
    "convwise.profile.counting",
    "convwise.profile.explain",
    "convwise.profile.formulas",
    "convwise.profile.formulas.conv",
    "convwise.profile.formulas.defaults",
    "convwise.profile.formulas.elementwise",
    "convwise.profile.formulas.matmul",
    "convwise.profile.formulas.rnn",
    "convwise.profile.formulas.table",
    "convwise.profile.meta_shapes",
    "convwise.profile.node",
    "convwise.profile.receptive",
    "convwise.profile.render",
    "convwise.profile.report",
    "convwise.profile.schema",
    "convwise.profile.tree",
    "convwise.train",
    "convwise.train.checkpoint",
    "convwise.train.distributed",
    "convwise.train.evaluate",
    "convwise.train.experiment",
    "convwise.train.logs",
    "convwise.train.results",
    "convwise.viz.diagram",
    "convwise.viz.report",
}

#: Packages (or modules) whose every public function and class carries a runnable example.
EVERY_PUBLIC_CALLABLE = ("convwise.fileio", "convwise.core.errors", "convwise.models.factory")


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
    if name in WITHOUT_EXAMPLES:
        assert result.attempted == 0, f"{name} has examples now: remove it from WITHOUT_EXAMPLES"
    else:
        assert result.attempted > 0, f"{name} has no docstring example (or list it in WITHOUT_EXAMPLES)"


def test_the_list_names_real_modules() -> None:
    assert set(MODULES) >= WITHOUT_EXAMPLES, sorted(WITHOUT_EXAMPLES - set(MODULES))
    assert len(MODULES) > 80  # the walk found the package, not an empty path


def _public_callables(name: str) -> list[tuple[str, object]]:
    module = importlib.import_module(name)
    names = getattr(module, "__all__", None) or [n for n in vars(module) if not n.startswith("_")]
    out = []
    for attr in names:
        obj = getattr(module, attr)
        if (inspect.isfunction(obj) or inspect.isclass(obj)) and obj.__module__ == name:
            out.append((f"{name}.{attr}", obj))
    return out


@pytest.mark.parametrize("name", EVERY_PUBLIC_CALLABLE)
def test_every_public_callable_has_an_example(name: str) -> None:
    callables = _public_callables(name)
    assert callables
    missing = [qual for qual, obj in callables if ">>>" not in (inspect.getdoc(obj) or "")]
    missing = [q for q in missing if not _example_in_module(name, q)]
    assert missing == []


def _example_in_module(module: str, qualname: str) -> bool:
    """An exception class is shown by the example of the function that raises it, in the module's doc."""
    doc = inspect.getdoc(importlib.import_module(module)) or ""
    return ">>>" in doc and qualname.rsplit(".", 1)[1] in doc
