"""`convwise.core` runs on the standard library alone: imported with torch and numpy blocked."""

from __future__ import annotations

import subprocess
import sys
import textwrap

BLOCKER = textwrap.dedent(
    """
    import importlib.abc, sys

    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("torch", "numpy"):
                raise ImportError(f"blocked import of {name}")
            return None

    sys.meta_path.insert(0, Block())
    """
)


def run_blocked(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", BLOCKER + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_blocker_really_blocks():
    proc = run_blocked("import numpy")
    assert proc.returncode != 0
    assert "blocked import of numpy" in proc.stderr


def test_core_imports_and_computes_with_torch_and_numpy_blocked():
    proc = run_blocked(
        """
        import pkgutil, importlib
        import convwise.core as core
        for info in pkgutil.iter_modules(core.__path__):
            importlib.import_module(f"convwise.core.{info.name}")
        cost = core.layer_cost(core.separable(4, 10, 3), (4, 5, 5))
        comp = core.compare((4, 5, 5), 10, 3)
        assert cost.counts.mults == 684, cost.counts.mults
        assert comp.variant("separable").cost.counts.params == 90
        assert "torch" not in sys.modules and "numpy" not in sys.modules
        print("ok", cost.counts.mults)
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok 684"
