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


#: Flags of x86 CPUs with an int8 dot-product instruction (VNNI), where int8 GEMMs do not saturate.
VNNI_FLAGS = ("avx512_vnni", "avx_vnni", "amx_int8")


def int8_saturates(flags: set[str] | None = None) -> bool:
    """True on an x86 CPU with AVX2 but no VNNI, where onnxruntime's u8 x s8 int8 kernels can saturate.

    There the kernels multiply with VPMADDUBSW, whose pairwise int16 sums overflow for full 8-bit weights;
    onnxruntime's advice is 7-bit weights (`reduce_range`). VNNI CPUs and ARM (SDOT) do not saturate.

    >>> int8_saturates({"avx2", "fma"}), int8_saturates({"avx2", "avx512_vnni"}), int8_saturates({"asimd"})
    (True, False, False)
    """
    flags = cpu_flags() if flags is None else flags
    return "avx2" in flags and not any(f in flags for f in VNNI_FLAGS)


def has_cxx_compiler() -> bool:
    """True when a C++ compiler is on PATH (Inductor and convwise's kernels need one to build on a CPU).

    >>> isinstance(has_cxx_compiler(), bool)
    True
    """
    return any(shutil.which(c) for c in CXX_COMPILERS)


__all__ = ["CXX_COMPILERS", "VNNI_FLAGS", "cpu_flags", "cpu_model", "has_cxx_compiler", "int8_saturates"]
