"""Roofline prediction: this machine's peak GFLOP/s and bandwidth, per-layer FLOPs/bytes, measured times.

The roofline model: a layer needs at least `max(flops / peak_flops, bytes / bandwidth)` seconds. A layer whose
arithmetic intensity (FLOPs per byte) is below the ridge point `peak_flops / bandwidth` is memory-bound.

- FLOPs follow the library's convention (SPEC §2): multiplications + accumulation additions + bias additions
  for conv and linear layers; one operation per output element for BatchNorm, pooling and activations.
- Bytes are weights + input + output activations (float32), the traffic an ideal kernel cannot avoid.
- Bandwidth: the probe measures a large copy (main memory) and a copy that fits in the last-level cache; a
  layer whose bytes fit in the cache is predicted with the cache bandwidth, any other with main memory's.
- Activations that directly follow a conv (ReLU, ReLU6, ...) are predicted as fused into it (0 s), as
  onnxruntime and oneDNN fuse them; they still show their measured time.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from statistics import median
from typing import Any

import torch
from torch import nn

from convwise.layers.families import CONV_FUSED_ACTIVATIONS as _ACTS
from convwise.layers.families import CONVS as _CONVS
from convwise.layers.families import PASS_THROUGH as _FREE
from convwise.layers.families import layer_kind


@dataclass(frozen=True)
class MachinePeak:
    """Measured peak throughput of this machine at a thread count.

    Attributes:
        threads: intra-op threads used by the probe.
        gflops: best float32 matrix-multiply rate, GFLOP/s.
        dram_gbs: best large-copy bandwidth (read + write), GB/s.
        cache_gbs: best copy bandwidth for a buffer that fits in the last-level cache, GB/s.
        cache_bytes: the buffer size below which `cache_gbs` is used.
    """

    threads: int
    gflops: float
    dram_gbs: float
    cache_gbs: float
    cache_bytes: int

    def ridge(self, cached: bool = False) -> float:
        """Arithmetic intensity (FLOP/byte) where a layer turns from memory-bound to compute-bound."""
        return self.gflops / (self.cache_gbs if cached else self.dram_gbs)

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return asdict(self)


def _llc_bytes() -> int:
    """Size of the last-level cache from sysfs, or 8 MiB when unknown."""
    best = 0
    for index in Path("/sys/devices/system/cpu/cpu0/cache").glob("index*"):
        with contextlib.suppress(OSError, ValueError):
            text = (index / "size").read_text().strip().upper()
            scale = {"K": 1024, "M": 1024**2, "G": 1024**3}.get(text[-1:], 1)
            best = max(best, int(text.rstrip("KMG")) * scale)
    return best or 8 * 1024**2


@contextlib.contextmanager
def threads(n: int | None) -> Iterator[None]:
    """Temporarily set torch's intra-op thread count."""
    previous = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _best_seconds(fn: Callable[[], Any], repeats: int) -> float:
    fn()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def probe_machine(n_threads: int | None = None, *, repeats: int = 10) -> MachinePeak:
    """Measure peak float32 GFLOP/s (square matmul) and copy bandwidth (main memory and cache).

    Best-of-`repeats` figures, so that other processes on a shared machine lower them as little as possible.
    Takes about a second.
    """
    n_threads = n_threads or torch.get_num_threads()
    llc = _llc_bytes()
    with threads(n_threads), torch.inference_mode():
        n = 1024
        a, b = torch.randn(n, n), torch.randn(n, n)
        c = torch.empty(n, n)
        gflops = 2 * n**3 / _best_seconds(lambda: torch.mm(a, b, out=c), repeats) / 1e9
        big = max(4 * llc, 64 * 1024**2) // 4
        src, dst = torch.randn(big), torch.empty(big)
        dram = 2 * big * 4 / _best_seconds(lambda: dst.copy_(src), repeats) / 1e9
        small = max(llc // 8, 256 * 1024) // 4
        src_s, dst_s = torch.randn(small), torch.empty(small)

        def copies() -> None:
            for _ in range(20):
                dst_s.copy_(src_s)

        cache = 20 * 2 * small * 4 / _best_seconds(copies, repeats) / 1e9
    return MachinePeak(n_threads, gflops, dram, max(cache, dram), llc // 2)


@dataclass
class LayerCost:
    """One leaf module's cost for one forward pass of a batch.

    Attributes:
        name: qualified module name.
        type: module class name.
        flops: floating-point operations (see the module docstring).
        bytes: weights + input + output activations, in bytes.
        fused: an activation right after a conv, predicted as fused into it.
        kind: `convwise.layers.families.layer_kind` (a conv's variant kind, `linear`, ...), else the type.
    """

    name: str
    type: str
    flops: int
    bytes: int
    fused: bool = False
    kind: str = ""

    @property
    def intensity(self) -> float:
        """FLOPs per byte."""
        return self.flops / self.bytes if self.bytes else 0.0

    def predict(self, peak: MachinePeak) -> float:
        """Roofline lower bound of this layer's time, in seconds."""
        if self.fused or (self.flops == 0 and self.bytes == 0):
            return 0.0
        bandwidth = peak.cache_gbs if self.bytes <= peak.cache_bytes else peak.dram_gbs
        return max(self.flops / (peak.gflops * 1e9), self.bytes / (bandwidth * 1e9))

    def bound(self, peak: MachinePeak) -> str:
        """`memory` or `compute`: which roof limits this layer (`fused` / `-` for free layers)."""
        if self.fused:
            return "fused"
        if self.flops == 0 and self.bytes == 0:
            return "-"
        cached = self.bytes <= peak.cache_bytes
        return "memory" if self.intensity < peak.ridge(cached) else "compute"


def _nbytes(t: Any) -> int:
    return t.numel() * t.element_size() if isinstance(t, torch.Tensor) else 0


def conv_kind(mod: nn.Module) -> str:
    """A conv's variant kind (`standard`, `depthwise`, ...), another module's profile kind, else its type."""
    return layer_kind(mod) or type(mod).__name__


def _flops(mod: nn.Module, inp: torch.Tensor, out: torch.Tensor) -> int:
    if isinstance(mod, _CONVS):
        per_out = mod.in_channels // mod.groups
        for size in mod.kernel_size:
            per_out *= int(size)
        outputs = out.numel()
        mults = outputs * per_out
        adds = outputs * (per_out - 1) + (outputs if mod.bias is not None else 0)
        return mults + adds
    if isinstance(mod, nn.Linear):
        rows = out.numel() // mod.out_features
        mults = rows * mod.in_features * mod.out_features
        adds = rows * (mod.in_features - 1) * mod.out_features + (out.numel() if mod.bias is not None else 0)
        return mults + adds
    if isinstance(mod, _FREE):
        return 0
    if isinstance(mod, nn.AdaptiveAvgPool2d | nn.AdaptiveAvgPool1d):
        return inp.numel()
    if isinstance(mod, nn.MaxPool2d | nn.AvgPool2d | nn.MaxPool1d | nn.AvgPool1d):
        dims = 2 if isinstance(mod, nn.MaxPool2d | nn.AvgPool2d) else 1
        k = mod.kernel_size
        sizes = (k,) * dims if isinstance(k, int) else tuple(k)
        taps = 1
        for size in sizes:
            taps *= int(size)
        return out.numel() * taps
    return out.numel()  # BatchNorm, activations and other element-wise modules


def layer_costs(model: nn.Module, x: torch.Tensor) -> list[LayerCost]:
    """FLOPs and bytes of every leaf module that runs in `model(x)`, in execution order.

    Args:
        model: the module (run once, in inference mode; not changed).
        x: a batch of inputs.

    Returns:
        One `LayerCost` per leaf-module call.
    """
    names = {m: n for n, m in model.named_modules()}
    costs: list[LayerCost] = []
    last_conv_out: list[int] = [0]
    handles = []

    def hook(mod: nn.Module, args: tuple[Any, ...], out: Any) -> None:
        inp = args[0] if args else None
        if isinstance(mod, _FREE):
            costs.append(LayerCost(names[mod], type(mod).__name__, 0, 0, kind=type(mod).__name__))
            return
        params = sum(_nbytes(p) for p in mod.parameters(recurse=False))
        params += sum(_nbytes(b) for b in mod.buffers(recurse=False))
        fused = isinstance(mod, _ACTS) and isinstance(inp, torch.Tensor) and last_conv_out[0] == id(inp)
        moved = params + _nbytes(inp) + _nbytes(out)
        flops = _flops(mod, inp, out)
        costs.append(LayerCost(names[mod], type(mod).__name__, flops, moved, fused, conv_kind(mod)))
        if isinstance(mod, _CONVS):
            last_conv_out[0] = id(out)
            keep.append(out)

    keep: list[torch.Tensor] = []
    for mod in model.modules():
        if not any(True for _ in mod.children()):
            handles.append(mod.register_forward_hook(hook))
    try:
        with torch.inference_mode():
            model(x)
    finally:
        for h in handles:
            h.remove()
    return costs


def measure_layers(model: nn.Module, x: torch.Tensor, *, repeats: int = 5, warmup: int = 1) -> list[float]:
    """Median wall time of every leaf-module call of `model(x)` over `repeats` passes, in execution order.

    Hooks time each module between its forward pre-hook and forward hook, so the sum is a little less
    than the model's latency (Python glue between modules is not attributed).
    """
    starts: dict[int, float] = {}
    samples: list[list[float]] = []
    order: list[int] = [0]
    handles = []

    def pre(mod: nn.Module, _args: tuple[Any, ...]) -> None:
        starts[id(mod)] = time.perf_counter()

    def post(mod: nn.Module, _args: tuple[Any, ...], _out: Any) -> None:
        elapsed = time.perf_counter() - starts[id(mod)]
        i = order[0]
        if i == len(samples):
            samples.append([])
        samples[i].append(elapsed)
        order[0] += 1

    for mod in model.modules():
        if not any(True for _ in mod.children()):
            handles.append(mod.register_forward_pre_hook(pre))
            handles.append(mod.register_forward_hook(post))
    try:
        with torch.inference_mode():
            for _ in range(warmup):
                model(x)
            samples.clear()
            for _ in range(repeats):
                order[0] = 0
                model(x)
    finally:
        for h in handles:
            h.remove()
    return [median(s) for s in samples]
