"""What a latency benchmark measured: timings per backend, roofline per batch size, and the goals."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from statistics import median
from typing import Any

from convwise.measure.roofline import MachinePeak, RooflineLayer

#: Backends that are convwise's own PyTorch paths.
CONVWISE_PATHS: tuple[str, ...] = ("eager", "optimized", "native", "compiled")
#: Every fp32 path `convwise bench` deploys to (the goal compares the best of them with onnxruntime).
FP32_PATHS: tuple[str, ...] = (*CONVWISE_PATHS, "ov-fp32", "et-fp32")


@dataclass
class Timing:
    """Latency samples of one backend at one batch size and thread count (seconds)."""

    backend: str
    batch: int
    threads: int
    samples: list[float]
    warmup: int
    setup_s: float = 0.0
    precision: str = "fp32"

    @property
    def median(self) -> float:
        """Median latency, seconds."""
        return median(self.samples)

    @property
    def p90(self) -> float:
        """90th-percentile latency (nearest rank), seconds."""
        ordered = sorted(self.samples)
        return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]

    @property
    def throughput(self) -> float:
        """Samples per second at the median latency."""
        return self.batch / self.median

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "backend": self.backend,
            "batch": self.batch,
            "threads": self.threads,
            "warmup": self.warmup,
            "repeats": len(self.samples),
            "median_ms": self.median * 1e3,
            "p90_ms": self.p90 * 1e3,
            "throughput": self.throughput,
            "setup_s": self.setup_s,
            "precision": self.precision,
        }


@dataclass
class Roofline:
    """Roofline prediction for one batch size: per-layer costs (the profile's rows), predictions, times.

    Attributes:
        flops: the profile's FLOPs total of the model as written (docs/cost-model.md).
        status: the profile's status (`partial` when some op had no formula: the prediction misses it).
    """

    batch: int
    threads: int
    layers: list[RooflineLayer]
    measured: list[float]
    peak: MachinePeak
    flops: int = 0
    status: str = "complete"

    @property
    def predicted(self) -> float:
        """Sum of the per-layer roofline bounds, seconds."""
        return sum(layer.predict(self.peak) for layer in self.layers)

    @property
    def work(self) -> int:
        """Total work of the layers the deployed model still runs (FLOPs + other ops)."""
        return sum(layer.work for layer in self.layers)

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "batch": self.batch,
            "threads": self.threads,
            "flops": self.flops,
            "work": self.work,
            "status": self.status,
            "predicted_ms": self.predicted * 1e3,
            "measured_layers_ms": sum(self.measured) * 1e3,
            "layers": [
                {
                    "name": layer.name,
                    "type": layer.type,
                    "kind": layer.kind,
                    "work": layer.work,
                    "bytes": layer.bytes,
                    "intensity": layer.intensity,
                    "bound": layer.bound(self.peak),
                    "predicted_ms": layer.predict(self.peak) * 1e3,
                    "measured_ms": t * 1e3,
                }
                for layer, t in zip(self.layers, self.measured, strict=True)
            ],
        }


@dataclass
class BenchResult:
    """Everything `run_benchmark` measured."""

    model: str
    input_shape: tuple[int, ...]
    timings: list[Timing] = field(default_factory=list)
    rooflines: list[Roofline] = field(default_factory=list)
    peaks: list[MachinePeak] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)

    def timing(self, backend: str, batch: int, n_threads: int) -> Timing | None:
        """The timing of one backend/batch/threads, or None."""
        for t in self.timings:
            if (t.backend, t.batch, t.threads) == (backend, batch, n_threads):
                return t
        return None

    def roofline(self, batch: int, n_threads: int) -> Roofline | None:
        """The roofline of one batch/threads, or None."""
        for r in self.rooflines:
            if (r.batch, r.threads) == (batch, n_threads):
                return r
        return None

    def goals(self, batch: int, n_threads: int) -> dict[str, Any]:
        """The goals at one batch size: the best fp32 path convwise deploys to (PyTorch paths, OpenVINO) vs
        onnxruntime and the roofline, the best PyTorch path vs onnxruntime, and the optimised speed-up."""
        out: dict[str, Any] = {"batch": batch, "threads": n_threads}

        def fastest(names: Sequence[str]) -> Timing | None:
            rows = [t for b in names if (t := self.timing(b, batch, n_threads)) is not None]
            rows = [t for t in rows if t.precision == "fp32"]
            return min(rows, key=lambda t: t.median) if rows else None

        best = fastest(FP32_PATHS)
        torch_best = fastest(CONVWISE_PATHS)
        ort = self.timing("ort-fp32", batch, n_threads)
        eager = self.timing("eager", batch, n_threads)
        opt = self.timing("optimized", batch, n_threads)
        roof = self.roofline(batch, n_threads)
        if best is not None:
            out["best_convwise"] = best.backend
            out["best_convwise_ms"] = best.median * 1e3
        if best is not None and ort is not None:
            ratio = best.median / ort.median
            out["best_vs_ort"] = ratio
            out["best_vs_ort_met"] = ratio <= 1.0
        if torch_best is not None and ort is not None:
            out["best_pytorch"] = torch_best.backend
            out["best_pytorch_vs_ort"] = torch_best.median / ort.median
        if best is not None and roof is not None:
            ratio = best.median / roof.predicted
            out["best_vs_roofline"] = ratio
            out["best_vs_roofline_met"] = ratio <= 1.25
        if eager is not None and opt is not None:
            speedup = eager.median / opt.median
            out["optimized_speedup"] = speedup
            out["optimized_speedup_met"] = speedup >= 1.5
        return out

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        combos = sorted({(t.batch, t.threads) for t in self.timings})
        return {
            "model": self.model,
            "input_shape": list(self.input_shape),
            "machine": [p.as_dict() for p in self.peaks],
            "timings": [t.as_dict() for t in self.timings],
            "rooflines": [r.as_dict() for r in self.rooflines],
            "goals": [self.goals(b, n) for b, n in combos],
            "skipped": dict(self.skipped),
        }
