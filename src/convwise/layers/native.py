"""convwise's C++ CPU kernels (src/convwise/layers/kernels/), built on first use and cached.

`torch.utils.cpp_extension.load` compiles them once per machine (about a minute, with the C++ compiler
and `ninja` that `torch.compile` also needs on a CPU) into `$CONVWISE_CACHE/kernels/…` (default
`~/.cache/convwise`), for the instruction set of this CPU (AVX-512, AVX2 or plain C++, through ATen's
`Vectorized`). Where the build is impossible (no compiler, no `ninja`, an unwritable cache) or disabled with
`CONVWISE_NATIVE=0`, `kernels()` returns None — once, with a warning that says why — and the layers that use
it run PyTorch's own kernels instead.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import warnings
from pathlib import Path
from types import ModuleType

from convwise.machine import CXX_COMPILERS, cpu_flags, has_cxx_compiler

_KERNELS = Path(__file__).with_name("kernels")
#: The sources of the one extension module, its Python bindings first.
_SOURCES = tuple(
    _KERNELS / name for name in ("module.cpp", "selu.cpp", "maxpool.cpp", "infer.cpp", "train.cpp")
)
#: Headers the sources include (part of the build's cache key).
_HEADERS = tuple(_KERNELS / name for name in ("checks.h", "gemm.h", "pool.h"))
_STATE: dict[str, ModuleType | None] = {}

#: The kernels' activation codes (kernels/gemm.h): none, ReLU, ReLU6, SELU.
ACT_NONE, ACT_RELU, ACT_RELU6, ACT_SELU = 0, 1, 2, 3


def _isa(flags: set[str]) -> tuple[str, list[str]]:
    """The instruction set to build for and its compiler flags (ATen's CPU_CAPABILITY names).

    >>> _isa({"avx2", "fma"})[0], _isa(set())[0]
    ('AVX2', 'DEFAULT')
    """
    if {"avx512f", "avx512bw", "avx512vl", "avx512dq"} <= flags:
        flags_ = ["-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx512dq", "-mfma"]
        return "AVX512", [*flags_, "-DCPU_CAPABILITY=AVX512", "-DCPU_CAPABILITY_AVX512"]
    if {"avx2", "fma"} <= flags:
        return "AVX2", ["-mavx2", "-mfma", "-DCPU_CAPABILITY=AVX2", "-DCPU_CAPABILITY_AVX2"]
    return "DEFAULT", ["-DCPU_CAPABILITY=DEFAULT"]


def cache_dir() -> Path:
    """Where built kernels are kept: under `$CONVWISE_CACHE`, else `$XDG_CACHE_HOME/convwise` (~/.cache)."""
    root = os.environ.get("CONVWISE_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache"), "convwise"
    )
    return Path(root) / "kernels"


def why_unavailable() -> str | None:
    """Why the kernels cannot be built here (None when they can be tried).

    >>> isinstance(why_unavailable(), (str, type(None)))
    True
    """
    if os.environ.get("CONVWISE_NATIVE", "1") == "0":
        return "disabled by CONVWISE_NATIVE=0"
    if not has_cxx_compiler():
        return f"no C++ compiler on PATH ({', '.join(CXX_COMPILERS)}; install g++)"
    if not shutil.which("ninja"):
        return "no `ninja` on PATH (pip install ninja)"
    return None


def kernels() -> ModuleType | None:
    """The built extension module (SELU, max-pool, inference-conv and training-matmul kernels), or None
    where it cannot be built."""
    if "module" in _STATE:
        return _STATE["module"]
    module: ModuleType | None = None
    reason = why_unavailable()
    if reason is None:
        try:
            module = _build()
        except Exception as exc:  # a compiler error, a read-only cache ...: PyTorch's kernels instead
            last = str(exc).strip().splitlines()[-1:] or [repr(exc)]
            reason = f"building {', '.join(p.name for p in _SOURCES)} failed: {last[0]}"
    if module is None:
        warnings.warn(f"convwise's C++ kernels are not used: {reason}", stacklevel=2)
    _STATE["module"] = module
    return module


def _build() -> ModuleType:
    import torch
    from torch.utils.cpp_extension import load

    isa, isa_flags = _isa(cpu_flags())
    source = b"".join(p.read_bytes() for p in _SOURCES + _HEADERS)
    tag = hashlib.sha256(source + torch.__version__.encode() + isa.encode()).hexdigest()[:12]
    folder = cache_dir() / f"kernels-{isa.lower()}-{tag}"
    folder.mkdir(parents=True, exist_ok=True)
    return load(
        name=f"convwise_kernels_{tag}",
        sources=[str(p) for p in _SOURCES],
        extra_cflags=["-O3", "-fopenmp", *isa_flags],
        build_directory=str(folder),
        verbose=False,
    )


__all__ = ["ACT_NONE", "ACT_RELU", "ACT_RELU6", "ACT_SELU", "cache_dir", "kernels", "why_unavailable"]
