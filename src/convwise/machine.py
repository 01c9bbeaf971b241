"""What this machine is: its CPU (model, feature flags) and whether it can build C++ kernels.

Standard library only (the CLI reads it before torch is imported). Used by the training step (bf16
support), convwise's own C++ kernels (the instruction set to build for) and the benchmarks' headers.
"""

from __future__ import annotations

import shutil
from pathlib import Path

#: C++ compilers torch.utils.cpp_extension and Inductor can use, in the order looked for.
CXX_COMPILERS = ("g++", "c++", "clang++")


def cpu_flags() -> set[str]:
    """The CPU's feature flags as Linux lists them in /proc/cpuinfo (empty elsewhere).

    >>> isinstance(cpu_flags(), set)
    True
    """
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def cpu_model() -> str:
    """The CPU's model name (from /proc/cpuinfo, else the platform's processor string).

    >>> isinstance(cpu_model(), str)
    True
    """
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or "unknown CPU"


def has_cxx_compiler() -> bool:
    """True when a C++ compiler is on PATH (Inductor and convwise's kernels need one to build on a CPU).

    >>> isinstance(has_cxx_compiler(), bool)
    True
    """
    return any(shutil.which(c) for c in CXX_COMPILERS)


__all__ = ["CXX_COMPILERS", "cpu_flags", "cpu_model", "has_cxx_compiler"]
