"""Roofline prediction: this machine's peak GFLOP/s and bandwidth, and per-layer bounds and measured times.

The roofline model: a layer needs at least `max(work / peak_flops, bytes / bandwidth)` seconds. A layer whose
arithmetic intensity (work per byte) is below the ridge point `peak_flops / bandwidth` is memory-bound.

The counts are `convwise.profile`'s, row by row (one cost engine, the conventions of docs/cost-model.md):

- work = the row's `flops` (multiplications + accumulation and bias additions of conv and linear layers)
  + its `other_ops` (BatchNorm, activations, pooling, element-wise ops);
- bytes = the row's `bytes_moved` (weights + input + output activations at the profile's dtype);
- bandwidth: the probe measures a large copy (main memory) and a copy that fits in the last-level cache; a
  layer whose bytes fit in half the cache is predicted with the cache bandwidth, any other with main memory's;
- modules that the deployed model no longer runs (`OptimizedModel.removed`: BatchNorms folded into their
  conv, activations of `convwise.layers.families.CONV_FUSED_ACTIVATIONS` fused into it) are predicted free,
  and their counts are taken off the row that holds them.

This module adds only the machine probe, the prediction and the per-layer timing.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from statistics import median
from typing import Any

import torch
from torch import nn

from convwise.profile import Report, profile
from convwise.profile.trace import hooked


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
        """Arithmetic intensity (FLOP/byte) where a layer turns from memory-bound to compute-bound.

        Example:
            >>> peak = MachinePeak(threads=1, gflops=100.0, dram_gbs=10.0, cache_gbs=50.0, cache_bytes=2**20)
            >>> peak.ridge(), peak.ridge(cached=True)
            (10.0, 2.0)
        """
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
    """Temporarily set torch's intra-op thread count.

    Example:
        >>> before = torch.get_num_threads()
        >>> with threads(1):
        ...     torch.get_num_threads()
        1
        >>> torch.get_num_threads() == before
        True
    """
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
    Takes about a second; the copies use up to 2×512 MiB.

    Example:
        >>> peak = probe_machine(1, repeats=1)  # doctest: +SKIP
        >>> peak.gflops > 0 and peak.cache_gbs >= peak.dram_gbs  # doctest: +SKIP
        True
    """
    n_threads = n_threads or torch.get_num_threads()
    llc = _llc_bytes()
    with threads(n_threads), torch.inference_mode():
        n = 1024
        a, b = torch.randn(n, n), torch.randn(n, n)
        c = torch.empty(n, n)
        gflops = 2 * n**3 / _best_seconds(lambda: torch.mm(a, b, out=c), repeats) / 1e9
        big = min(max(4 * llc, 64 * 1024**2), 512 * 1024**2) // 4  # past the cache, at most 2×512 MiB
        src, dst = torch.ones(big), torch.empty(big)
        dram = 2 * big * 4 / _best_seconds(lambda: dst.copy_(src), repeats) / 1e9
        small = max(llc // 8, 256 * 1024) // 4
        src_s, dst_s = torch.ones(small), torch.empty(small)

        def copies() -> None:
            for _ in range(20):
                dst_s.copy_(src_s)

        cache = 20 * 2 * small * 4 / _best_seconds(copies, repeats) / 1e9
    return MachinePeak(n_threads, gflops, dram, max(cache, dram), llc // 2)


@dataclass(frozen=True)
class RooflineLayer:
    """One row of the profile with its roofline inputs, for one forward pass of a batch.

    Attributes:
        name: the profile row's module name ("" for the top level's own ops).
        type: module class name.
        kind: the profile's kind (`standard`, `depthwise`, `pointwise`, `batch_norm` …), else the type.
        work: floating-point work, the row's `flops + other_ops`.
        bytes: the row's `bytes_moved`.
        removed: "folded" or "fused" when the deployed model no longer computes the row (predicted free).
        timed: whether `measure_layers` times the row's module on its own (a row holding only a parent
            module's own ops is its time minus its children's).

    Example:
        >>> peak = MachinePeak(threads=1, gflops=100.0, dram_gbs=10.0, cache_gbs=50.0, cache_bytes=10**6)
        >>> layer = RooflineLayer("conv", "Conv2d", "pointwise", work=10**9, bytes=10**6)
        >>> layer.predict(peak), layer.bound(peak)
        (0.01, 'compute')
    """

    name: str
    type: str
    kind: str
    work: int
    bytes: int
    removed: str | None = None

    @property
    def intensity(self) -> float:
        """Work per byte."""
        return self.work / self.bytes if self.bytes else 0.0

    def predict(self, peak: MachinePeak) -> float:
        """Roofline lower bound of this layer's time, in seconds."""
        if self.removed or (self.work == 0 and self.bytes == 0):
            return 0.0
        bandwidth = peak.cache_gbs if self.bytes <= peak.cache_bytes else peak.dram_gbs
        return max(self.work / (peak.gflops * 1e9), self.bytes / (bandwidth * 1e9))

    def bound(self, peak: MachinePeak) -> str:
        """`memory` or `compute`: which roof limits this layer (`folded` / `fused` / `-` for free layers)."""
        if self.removed:
            return self.removed
        if self.work == 0 and self.bytes == 0:
            return "-"
        cached = self.bytes <= peak.cache_bytes
        return "memory" if self.intensity < peak.ridge(cached) else "compute"


def _inside(name: str, row: str) -> bool:
    return not row or name == row or name.startswith(row + ".")


def roofline_layers(report: Report, *, removed: Mapping[str, str] | None = None) -> list[RooflineLayer]:
    """The roofline inputs of every row of a profile `report` (its default rows: one per layer).

    Args:
        report: `convwise.profile.profile(model, ...)` of the model as written (its eval mode).
        removed: modules the deployed model no longer runs, name → "folded" / "fused"
            (`OptimizedModel.removed`); their counts are taken off the row that holds them.

    Returns:
        One `RooflineLayer` per row, in the report's order.

    Example:
        >>> import torch
        >>> from convwise.profile import profile
        >>> from torch import nn
        >>> net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU()).eval()
        >>> rows = roofline_layers(profile(net, (3, 10, 10)), removed={"1": "folded"})
        >>> [(r.name, r.kind, r.work, r.removed) for r in rows]
        [('0', 'standard', 27648, None), ('1', 'batch_norm', 0, 'folded'), ('2', 'ReLU', 512, None)]
    """
    removed = dict(removed or {})
    out: list[RooflineLayer] = []
    for row in report.rows():
        name = "" if row["name"] == "(top level)" else row["name"]
        work, moved = row["flops"] + row["other_ops"], row["bytes_moved"]
        whole = removed.get(name)
        if whole is None:
            subtree = row["folded"] or not report.nodes[name].children
            for gone in removed:
                if gone in report.nodes and (gone == name or (subtree and _inside(gone, name))):
                    sub = report.subtree(gone)
                    work -= sub.mults + sub.acc_adds + sub.bias_adds + sub.other_ops
                    moved -= sub.weight_bytes + sub.traffic_in + sub.traffic_out
        out.append(
            RooflineLayer(
                name,
                row["type"],
                row["kind"] or row["type"],
                0 if whole else max(work, 0),
                0 if whole else max(moved, 0),
                whole,
            )
        )
    return out


def layer_costs(
    model: nn.Module,
    input_shape: Sequence[int],
    *,
    batch: int = 1,
    removed: Mapping[str, str] | None = None,
) -> list[RooflineLayer]:
    """`roofline_layers` of `convwise.profile.profile(model, input_shape, batch=batch)` (eval mode).

    Example:
        >>> import torch
        >>> net = torch.nn.Sequential(torch.nn.Linear(128, 10))
        >>> [layer.work for layer in layer_costs(net, (128,))]  # 1,280 mults + 1,270 + 10 adds
        [2560]
    """
    return roofline_layers(profile(model, tuple(input_shape), batch=batch), removed=removed)


def measure_layers(
    model: nn.Module,
    x: torch.Tensor,
    layers: Sequence[RooflineLayer],
    *,
    repeats: int = 5,
    warmup: int = 1,
) -> list[float]:
    """Median wall time of each layer's module in `model(x)` over `repeats` passes, in the order of `layers`.

    Each module is timed between its forward pre-hook and forward hook (summed over its calls in a pass). A
    row that holds only a parent module's own ops gets the parent's time minus its children's. Python glue
    outside the modules is not attributed, so the sum is a little less than the model's latency.

    Args:
        model: the module to time (e.g. `OptimizedModel.model`), with the same module names as the model
            the `layers` were profiled from.
        x: its input batch.
        layers: the rows to time (`layer_costs`).

    Example:
        >>> import torch
        >>> net = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.ReLU())
        >>> times = measure_layers(net, torch.zeros(1, 1, 8, 8), layer_costs(net, (1, 8, 8)), repeats=2)
        >>> len(times), all(t >= 0 for t in times)
        (2, True)
    """
    modules = dict(model.named_modules())
    own = {layer.name for layer in layers if modules[layer.name] is model or _has_own_row(layer, layers)}
    timed: dict[str, nn.Module] = {layer.name: modules[layer.name] for layer in layers}
    for name in own:
        prefix = name + "." if name else ""
        timed.update({prefix + child: m for child, m in modules[name].named_children()})
    name_of = {id(m): n for n, m in timed.items()}
    starts: dict[int, list[float]] = {}
    totals: dict[str, float] = {}
    samples: dict[str, list[float]] = {n: [] for n in timed}

    def pre(mod: nn.Module, _args: tuple[Any, ...]) -> None:
        starts.setdefault(id(mod), []).append(time.perf_counter())

    def post(mod: nn.Module, _args: tuple[Any, ...], _out: Any) -> None:
        name = name_of[id(mod)]
        totals[name] = totals.get(name, 0.0) + time.perf_counter() - starts[id(mod)].pop()

    with hooked(timed.values(), pre=pre, post=post), torch.inference_mode():
        for i in range(warmup + repeats):
            totals.clear()
            model(x)
            if i >= warmup:
                for name in timed:
                    samples[name].append(totals.get(name, 0.0))
    med = {n: median(s) if s else 0.0 for n, s in samples.items()}
    out = []
    for layer in layers:
        t = med[layer.name]
        if layer.name in own:
            prefix = layer.name + "." if layer.name else ""
            t -= sum(med[prefix + c] for c, _ in modules[layer.name].named_children())
        out.append(max(t, 0.0))
    return out


def _has_own_row(layer: RooflineLayer, layers: Sequence[RooflineLayer]) -> bool:
    """A row whose module has other rows below it: the row holds that module's own ops only."""
    prefix = layer.name + "."
    return any(other.name.startswith(prefix) for other in layers)
