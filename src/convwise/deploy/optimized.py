"""The optimised inference path: BatchNorm folded, channels-last, inference mode, optional `torch.compile`."""

from __future__ import annotations

import contextlib
import copy
from typing import Any

import torch
from torch import nn

from convwise.deploy.fold import FoldedPair, _pairs_by_fx, fold_batchnorm
from convwise.deploy.fuse import fuse_conv_activations, inplace_activations, torch_version
from convwise.deploy.native import use_native_kernels
from convwise.deploy.pad import absorb_padding
from convwise.layers.native import kernels

#: Outputs of `optimize(model)` match `model.eval()` to this tolerance (float32): BN folding and the
#: channels-last kernels change only the order of float operations.
RTOL = 1e-4
ATOL = 1e-5


class OptimizedModel(nn.Module):
    """An inference-only wrapper: converts 4-d inputs to channels-last and runs without autograd.

    When the model does not trace with `torch.fx` and `optimize` got no example input, BatchNorm is folded
    on the first call, with that call's input as the example.

    Attributes:
        model: the folded (and possibly compiled) inner module.
        folded: the conv/BatchNorm pairs that were folded (complete after the first call).
        channels_last: whether inputs and weights use the channels-last memory format.
        compiled: whether the inner module was wrapped with `torch.compile`.
        inplace: the activations switched to `inplace=True` (see `convwise.deploy.fuse`).
        fused: the convs run as one oneDNN primitive with prepacked weights and the following
            activation fused (`convwise.deploy.fuse.FusedConv2d`), or with `native`, through convwise's
            C++ kernels (`convwise.deploy.native`); eager path only.
        fused_into: each fused conv → the activation fused into it (None: the conv had none).
        removed: the modules deploy made free, name → "folded" (a BatchNorm) or "fused" (an activation).
        padded: the `SpecConv2d`s whose TF-"same" zero padding went into the kernel instead of a padded
            copy (`convwise.deploy.pad`).
        cpp_wrapper: whether a compiled model uses Inductor's C++ wrapper.
        native: whether the convs run through convwise's C++ kernels (`convwise.deploy.native`).
    """

    def __init__(
        self,
        model: nn.Module,
        folded: list[FoldedPair],
        channels_last: bool,
        compiled: bool,
        fold_pending: bool = False,
        inplace: list[str] | None = None,
        inplace_pending: bool = False,
        fused: dict[str, str | None] | None = None,
        fuse_pending: bool = False,
        compile_mode: str | None = None,
        padded: list[str] | None = None,
        pad_pending: bool = False,
        cpp_wrapper: bool = False,
        native: bool = False,
    ) -> None:
        super().__init__()
        self.native = native
        self.model = model
        self.folded = folded
        self.channels_last = channels_last
        self.compiled = compiled
        self.fold_pending = fold_pending
        self.inplace = list(inplace or [])
        self.inplace_pending = inplace_pending
        self.fused_into: dict[str, str | None] = dict(fused or {})
        self.fuse_pending = fuse_pending
        self.padded = list(padded or [])
        self.pad_pending = pad_pending
        self.cpp_wrapper = cpp_wrapper
        self._compiled_for: set[tuple[Any, ...]] = set()
        self._compile_mode = compile_mode
        self._by_threads: dict[int, nn.Module] = {torch.get_num_threads(): model} if compiled else {}

    @property
    def fused(self) -> list[str]:
        """The convs run as one oneDNN primitive (`FusedConv2d`), in execution order."""
        return list(self.fused_into)

    @property
    def removed(self) -> dict[str, str]:
        """Modules of `model` that no longer compute anything: folded BatchNorms and fused activations."""
        out = {pair.norm: "folded" for pair in self.folded}
        out.update({act: "fused" for act in self.fused_into.values() if act is not None})
        return out

    def forward(self, x: torch.Tensor) -> Any:
        """Run the model on `x` (N, C, H, W) in inference mode; the result does not track gradients."""
        if self.channels_last and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        if self.fold_pending:
            base = getattr(self.model, "_orig_mod", self.model)  # the module under torch.compile
            _, self.folded = fold_batchnorm(base, x, inplace=True)
            self.fold_pending = False
        if self.pad_pending:
            self.padded = absorb_padding(getattr(self.model, "_orig_mod", self.model), x)
            self.pad_pending = False
        if self.fuse_pending:
            fuse = use_native_kernels if self.native else fuse_conv_activations
            self.fused_into = fuse(self.model, x, rtol=RTOL, atol=ATOL)
            self.fuse_pending = False
        if self.inplace_pending:
            base = getattr(self.model, "_orig_mod", self.model)
            self.inplace = inplace_activations(base, x)
            self.inplace_pending = False
        if self.compiled:
            # Freezing packs the weights for the thread count at compile time (a packing for 1 thread ran
            # far slower at 2): one compiled copy per thread count. Freezing is switched on for the
            # compilation a new input shape triggers (dynamic=False).
            n = torch.get_num_threads()
            model = self._by_threads.get(n)
            if model is None:
                base = getattr(self.model, "_orig_mod", self.model)
                model = self._by_threads[n] = _compile(copy.deepcopy(base), self._compile_mode)
            key = (n, tuple(x.shape), x.dtype, x.stride())
            if key not in self._compiled_for:
                with torch.inference_mode(), _inductor_freezing(True, self.cpp_wrapper):
                    out = model(x)
                self._compiled_for.add(key)
                return out
            with torch.inference_mode():
                return model(x)
        with torch.inference_mode():
            return self.model(x)

    def train(self, mode: bool = True) -> OptimizedModel:
        """Inference only: training mode is refused, `eval()` is a no-op."""
        if mode:
            raise RuntimeError("An OptimizedModel is inference-only (BatchNorm is folded).")
        return super().train(False)


#: torch versions whose private `torch._inductor.config.freezing` switch `_inductor_freezing` patches (checked
#: on 2.13, where `options={"freezing": True}` alone does not reach the freezing passes). Elsewhere the public
#: `torch.compile(..., options={"freezing": True})` is used instead.
INDUCTOR_CONFIG_TORCH_VERSIONS: tuple[tuple[int, int], tuple[int, int]] = ((2, 2), (2, 13))


def _inductor_config_usable() -> bool:
    low, high = INDUCTOR_CONFIG_TORCH_VERSIONS
    return low <= torch_version() <= high


def _inductor_freezing(enabled: bool, cpp_wrapper: bool = False) -> contextlib.AbstractContextManager[Any]:
    """Inductor's `freezing` (and, with `cpp_wrapper`, its C++ wrapper) for the (lazy) compilation inside
    this call.

    `torch.compile(..., options={"freezing": True})` does not reach the freezing pass (torch 2.13: the
    output code keeps `aten.convolution`, unfused ReLUs and unpacked weights); the global config does.
    Patching it around the first call of each input shape keeps it local to this model and covers
    the recompilation a new shape triggers; later calls skip the patch (about 27 µs). A torch outside
    `INDUCTOR_CONFIG_TORCH_VERSIONS` gets the public option instead (`_compile_options`).

    The C++ wrapper (`cpp_wrapper`) calls the kernels and oneDNN ops of the compiled graph from generated
    C++ instead of generated Python: MobileNet v1 at batch 1 took about 10 % less CPU time (measured
    side by side, torch 2.13), for a longer first compilation.
    """
    if not enabled or not _inductor_config_usable():
        return contextlib.nullcontext()
    import torch._inductor.config as inductor_config

    if not hasattr(inductor_config, "freezing"):
        return contextlib.nullcontext()
    if cpp_wrapper and hasattr(inductor_config, "cpp_wrapper"):
        return inductor_config.patch(freezing=True, cpp_wrapper=True)
    return inductor_config.patch(freezing=True)


def _compile(module: nn.Module, mode: str | None) -> nn.Module:
    """`torch.compile(dynamic=False)`; with the public freezing option where the config patch is not used."""
    if _inductor_config_usable() or mode is not None:
        return torch.compile(module, mode=mode, dynamic=False)  # type: ignore[return-value]
    return torch.compile(module, dynamic=False, options={"freezing": True})  # type: ignore[return-value]


def optimize(
    model: nn.Module,
    *,
    example: torch.Tensor | None = None,
    fold_bn: bool = True,
    channels_last: bool = True,
    compile: bool = False,
    compile_mode: str | None = None,
    inplace_act: bool = True,
    fuse: bool = True,
    pad_in_kernel: bool = True,
    cpp_wrapper: bool = True,
    native: bool = False,
) -> OptimizedModel:
    """Return an inference-optimised copy of `model`; the original is not changed.

    Steps: copy, eval mode, fold every BatchNorm that directly follows a conv into the conv (wherever the
    pair sits in the module tree), convert weights to channels-last, optionally `torch.compile`, and run
    under `torch.inference_mode`.

    Args:
        model: any module.
        example: an input, used to find conv/BN pairs if the model does not trace with `torch.fx`
            (without it, they are found and folded on the first call).
        fold_bn: fold BatchNorm into the preceding conv.
        channels_last: use the channels-last (NHWC) memory format for weights and inputs.
        compile: wrap the inner module with `torch.compile(dynamic=False)` (compiled on the first call
            of each input shape; one compiled copy per thread count), with Inductor's `freezing` (weights
            become constants, prepacked for oneDNN, conv + ReLU fused into one oneDNN primitive).
        compile_mode: a `torch.compile` mode (e.g. "max-autotune-no-cudagraphs"), also with freezing.
        inplace_act: switch activations that consume a conv's output to `inplace=True` when an example
            pass shows it is safe (see `convwise.deploy.fuse`); needs `fold_bn` to find the pairs' inputs.
        fuse: without `compile`, run each 2-d conv as one oneDNN call with prepacked weights and the
            ReLU/ReLU6 that follows it fused (what Inductor's freezing emits; `torch.ops.mkldnn`),
            kept only if the output on the example matches within `RTOL`/`ATOL`.
        pad_in_kernel: where a convwise `SpecConv2d` pads asymmetrically with zeros (TF "same" at stride
            2), pad symmetrically inside the conv and widen its kernel by zero taps instead of copying
            the activation into a padded buffer (`convwise.deploy.pad`; for the example's input size).
        cpp_wrapper: with `compile`, Inductor's C++ wrapper instead of its Python one (less overhead per
            kernel call; on the torch versions of `INDUCTOR_CONFIG_TORCH_VERSIONS`).
        native: with `fuse` (and without `compile`), run the convs through convwise's C++ kernels instead
            of oneDNN (`convwise.deploy.native`: activations fused, each depthwise → 1×1 pair as one
            kernel, TF-"same" padding taken by the kernels, so `pad_in_kernel` is not needed); kept only
            if the output on the example matches. Where the kernels cannot be built, oneDNN's path runs.

    Returns:
        An `OptimizedModel` whose outputs match `model.eval()` within `RTOL`/`ATOL`.

    Example:
        >>> import torch
        >>> net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4)).eval()
        >>> fast = optimize(net)
        >>> x = torch.randn(1, 3, 8, 8)
        >>> torch.allclose(fast(x), net(x), rtol=RTOL, atol=ATOL)
        True
    """
    inner = copy.deepcopy(model).eval()
    folded: list[FoldedPair] = []
    pending = False
    if fold_bn:
        if example is None and _pairs_by_fx(inner) is None:
            pending = True  # fold on the first call, with its input as the example
        else:
            inner, folded = fold_batchnorm(inner, example, inplace=True)
    for p in inner.parameters():
        p.requires_grad_(False)
    if channels_last:
        inner = inner.to(memory_format=torch.channels_last)
    acts: list[str] = []
    acts_pending = False
    convs: dict[str, str | None] = {}
    convs_pending = False
    if example is not None and channels_last and example.dim() == 4:
        example = example.contiguous(memory_format=torch.channels_last)
    padded: list[str] = []
    pad_pending = False
    native = native and fuse and fold_bn and not compile and kernels() is not None
    if pad_in_kernel and not native:
        if example is None:
            pad_pending = True  # on the first call, with its input size
        else:
            padded = absorb_padding(inner, example)
    if fuse and fold_bn and not compile:
        if example is None:
            convs_pending = True  # fused on the first call, with its input
        else:
            fuser = use_native_kernels if native else fuse_conv_activations
            convs = fuser(inner, example, rtol=RTOL, atol=ATOL)
    if inplace_act and fold_bn:
        if example is None:
            acts_pending = True  # checked on the first call, with its input
        else:
            acts = inplace_activations(inner, example)
    if compile:
        # freezing is switched on around each call (`_inductor_freezing`); one graph per input shape
        inner = _compile(inner, compile_mode)
    return OptimizedModel(
        inner,
        folded,
        channels_last,
        compile,
        pending,
        acts,
        acts_pending,
        convs,
        convs_pending,
        compile_mode,
        padded,
        pad_pending,
        cpp_wrapper,
        native,
    ).eval()


#: glibc `mallopt` parameters (malloc.h).
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_MAX = -1, -2, -4


def tune_allocator(*, top_pad: int = 64 << 20) -> bool:
    """Keep freed memory in the process heap so large activations are not page-faulted in on every call.

    glibc serves blocks above its mmap threshold (at most 32 MiB) with fresh `mmap`s and returns them on
    `free`: at batch 32, MobileNet's early activations (up to 100 MB) are then zero-filled page by page on
    every forward pass, which cost PyTorch about half its time on this machine. onnxruntime avoids this
    with its own arena. This switches glibc to the heap only (`M_MMAP_MAX=0`), never trimming it below
    2 GiB of free space (`M_TRIM_THRESHOLD`), growing it `top_pad` bytes at a time (`M_TOP_PAD`) — the
    equivalent of `MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=2147483647` in the environment.

    It is process-wide and not undone (the heap keeps its high-water mark): meant for a process that
    serves one model. After large temporary allocations (an export, a lowering, another model's batch-32
    activations) the heap that is never returned can make a *small* model's PyTorch calls slower in the
    same process: the seed CNN's eager path went from 1.2 to 2.5 ms after lowering MobileNet v1 for
    ExecuTorch in that process (not with glibc's defaults) — `bench/inference_latency.py` runs each model
    in its own process for this reason.

    Args:
        top_pad: bytes added to each heap extension.

    Returns:
        True when the settings were applied (Linux with glibc), False otherwise (nothing changed).
    """
    import ctypes
    import platform

    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    ok = mallopt(_M_MMAP_MAX, 0) == 1
    ok = mallopt(_M_TRIM_THRESHOLD, 2**31 - 1) == 1 and ok
    return mallopt(_M_TOP_PAD, int(top_pad)) == 1 and ok
