"""Rich tables for a `BenchResult`: backends side by side, goals, measured vs roofline per layer."""

from __future__ import annotations

from typing import Any

from convwise.measure.results import BenchResult, Roofline


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.2f}" if seconds < 10 else f"{seconds * 1e3:.0f}"


def backend_table(result: BenchResult, batch: int, n_threads: int) -> Any:
    """One table: every backend at one batch size and thread count, with ratios to eager and onnxruntime."""
    from rich.table import Table

    rows = [t for t in result.timings if t.batch == batch and t.threads == n_threads]
    eager = result.timing("eager", batch, n_threads)
    ort = result.timing("ort-fp32", batch, n_threads)
    roof = result.roofline(batch, n_threads)
    shape = "x".join(str(d) for d in result.input_shape)
    reps = f"{rows[0].warmup} warm-up, {len(rows[0].samples)} timed rounds" if rows else ""
    table = Table(
        title=f"{result.model}: input N={batch}, CxHxW={shape}, {n_threads} thread(s), {reps} (interleaved)",
        title_justify="left",
    )
    for col in ("backend", "precision", "median ms", "p90 ms", "samples/s", "vs eager", "vs ort-fp32"):
        table.add_column(col, justify="left" if col in ("backend", "precision") else "right")
    for t in sorted(rows, key=lambda t: t.median):
        table.add_row(
            t.backend,
            t.precision,
            _ms(t.median),
            _ms(t.p90),
            f"{t.throughput:.1f}",
            f"{eager.median / t.median:.2f}x faster" if eager else "-",
            f"{t.median / ort.median:.2f}x time" if ort else "-",
        )
    if roof is not None:
        table.add_row(
            "roofline (predicted)",
            "fp32",
            _ms(roof.predicted),
            "",
            f"{batch / roof.predicted:.1f}",
            f"{eager.median / roof.predicted:.2f}x faster" if eager else "-",
            f"{roof.predicted / ort.median:.2f}x time" if ort else "-",
            style="dim",
        )
    for backend, reason in result.skipped.items():
        table.add_row(backend, "", "skipped", "", "", "", reason[:60], style="yellow")
    return table


def goals_table(result: BenchResult) -> Any:
    """The goals for every batch size / thread count measured (best fp32 path: PyTorch paths and OpenVINO)."""
    from rich.table import Table

    table = Table(title="goals (met = yes)", title_justify="left")
    for col in (
        "batch",
        "threads",
        "best fp32 path",
        "best / ort-fp32 <= 1.0",
        "best / roofline <= 1.25",
        "best PyTorch path / ort-fp32",
        "eager / optimized >= 1.5",
    ):
        table.add_column(col, justify="right")
    combos = sorted({(t.batch, t.threads) for t in result.timings})

    def cell(goal: dict[str, Any], key: str) -> str:
        if key not in goal:
            return "-"
        return f"{goal[key]:.2f} ({'yes' if goal[key + '_met'] else 'NO'})"

    for batch, n in combos:
        goal = result.goals(batch, n)
        table.add_row(
            str(batch),
            str(n),
            f"{goal.get('best_convwise', '-')} {goal.get('best_convwise_ms', 0):.2f} ms",
            cell(goal, "best_vs_ort"),
            cell(goal, "best_vs_roofline"),
            f"{goal['best_pytorch']} {goal['best_pytorch_vs_ort']:.2f}" if "best_pytorch" in goal else "-",
            cell(goal, "optimized_speedup"),
        )
    return table


def machine_table(result: BenchResult) -> Any:
    """The probe's figures: peak GFLOP/s, bandwidths and ridge points."""
    from rich.table import Table

    table = Table(title="machine probe (best of 10 runs, at the start and at the end)", title_justify="left")
    for col in (
        "threads",
        "peak GFLOP/s (fp32 matmul)",
        "DRAM GB/s (copy)",
        "cache GB/s (copy)",
        "cache used below",
        "ridge FLOP/byte (DRAM/cache)",
    ):
        table.add_column(col, justify="right")
    for p in result.peaks:
        table.add_row(
            str(p.threads),
            f"{p.gflops:.1f}",
            f"{p.dram_gbs:.1f}",
            f"{p.cache_gbs:.1f}",
            f"{p.cache_bytes / 2**20:.0f} MiB",
            f"{p.ridge():.1f} / {p.ridge(cached=True):.1f}",
        )
    return table


def layer_table(roof: Roofline, *, top: int | None = None) -> Any:
    """Measured vs roofline-predicted time per layer of the optimised model; which layers are memory-bound."""
    from rich.table import Table

    total = sum(roof.measured) or 1.0
    table = Table(
        title=f"measured vs roofline per layer (optimized, batch {roof.batch}, {roof.threads} thread(s)"
        f"{_removed_note(roof)}); work = FLOPs + other ops, from convwise.profile",
        title_justify="left",
    )
    for col in (
        "layer",
        "kind",
        "M work",
        "MB moved",
        "FLOP/B",
        "bound",
        "measured ms",
        "predicted ms",
        "measured/pred",
        "% time",
    ):
        table.add_column(col, justify="left" if col in ("layer", "type", "bound") else "right")
    rows = [
        (layer, t)
        for layer, t in zip(roof.layers, roof.measured, strict=True)
        if not layer.removed and (layer.work or layer.bytes)
    ]
    if top is not None:
        rows = sorted(rows, key=lambda r: r[1], reverse=True)[:top]
    for layer, t in rows:
        pred = layer.predict(roof.peak)
        bound = layer.bound(roof.peak)
        table.add_row(
            layer.name,
            layer.kind,
            f"{layer.work / 1e6:.2f}",
            f"{layer.bytes / 1e6:.2f}",
            f"{layer.intensity:.1f}",
            bound,
            f"{t * 1e3:.3f}",
            f"{pred * 1e3:.3f}",
            f"{t / pred:.1f}x" if pred > 0 else "-",
            f"{100 * t / total:.1f}",
            style="cyan" if bound == "memory" else None,
        )
    summed = sum(roof.measured)
    table.add_row(
        "total",
        "",
        f"{roof.work / 1e6:.1f}",
        "",
        "",
        "",
        f"{summed * 1e3:.2f}",
        f"{roof.predicted * 1e3:.2f}",
        f"{summed / roof.predicted:.1f}x",
        "100",
        style="bold",
    )
    return table


def _removed_note(roof: Roofline) -> str:
    counts: dict[str, int] = {}
    for layer in roof.layers:
        if layer.removed:
            counts[layer.removed] = counts.get(layer.removed, 0) + 1
    return "".join(f", {n} {how} not shown" for how, n in sorted(counts.items()))


def kind_shares(roof: Roofline) -> dict[str, dict[str, float]]:
    """Per layer kind (depthwise, pointwise, ...): share of work, of predicted and of measured time."""
    total_flops = max(roof.work, 1)
    total_time = max(sum(roof.measured), 1e-12)
    total_pred = max(roof.predicted, 1e-12)
    shares: dict[str, dict[str, float]] = {}
    for layer, t in zip(roof.layers, roof.measured, strict=True):
        if layer.work == 0 and layer.bytes == 0:
            continue
        entry = shares.setdefault(layer.kind, {"flops": 0.0, "predicted": 0.0, "measured": 0.0})
        entry["flops"] += layer.work / total_flops
        entry["predicted"] += layer.predict(roof.peak) / total_pred
        entry["measured"] += t / total_time
    return shares


def kind_table(roof: Roofline) -> Any:
    """Where FLOPs and time part: share of work (FLOPs + other ops) vs of measured time per layer kind."""
    from rich.table import Table

    table = Table(
        title=f"FLOPs vs time by layer kind (optimized model, batch {roof.batch}, {roof.threads} thread(s))",
        title_justify="left",
    )
    for col in ("kind", "% work", "% predicted time", "% measured time"):
        table.add_column(col, justify="left" if col == "kind" else "right")
    for kind, entry in sorted(kind_shares(roof).items(), key=lambda kv: -kv[1]["measured"]):
        table.add_row(
            kind,
            f"{100 * entry['flops']:.1f}",
            f"{100 * entry['predicted']:.1f}",
            f"{100 * entry['measured']:.1f}",
        )
    return table


def print_report(result: BenchResult, *, layers: bool = True, top: int | None = None) -> None:
    """Print every table of `result` to stdout."""
    from rich.console import Console

    console = Console(width=160)
    combos = sorted({(t.batch, t.threads) for t in result.timings})
    for batch, n in combos:
        console.print(backend_table(result, batch, n))
    if result.peaks:
        console.print(machine_table(result))
    console.print(goals_table(result))
    if layers:
        for roof in result.rooflines:
            console.print(layer_table(roof, top=top))
            console.print(kind_table(roof))
