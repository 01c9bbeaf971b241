"""DS-CNN S / M / L (Hello Edge): memory and operations per inference, ours beside the paper's."""

from __future__ import annotations

from convwise.models.papers.counting import count, numel
from convwise.models.papers.published import DSCNN_PUBLISHED, DSCNN_SOURCE
from convwise.models.papers.table import MILLION, Cell, Published, Row, Table


def dscnn_figures(size: str) -> dict[str, int]:
    """Our exact DS-CNN figures: MACs, folded params, peak activations, conv outputs, ops."""
    c = count("ds_cnn", (1, 49, 10), size=size)
    convs = [(row, spec) for row, spec in c.layers if spec is not None]
    folded = c.counted_params + sum(spec.out_channels for _, spec in convs)
    # shapes of one sample (batch 1): the numel of (1, C, H, W) is that of (C, H, W)
    peak = max(numel(row["input_shape"]) + numel(row["output_shape"]) for row, _ in c.layers)
    outputs = sum(numel(row["output_shape"]) for row, _ in convs)
    return {
        "macs": c.macs,
        "flops_folded": 2 * c.macs,
        "params_counted": c.counted_params,
        "params_folded": folded,
        "params_numel": c.params,
        "peak_activations": peak,
        "memory_bytes_int8": folded + peak,
        "conv_outputs": outputs,
        "ops": 2 * c.macs + outputs,
    }


def dscnn_table() -> Table:
    """DS-CNN S/M/L: memory (KB, 8-bit) and operations, ours beside Hello Edge's."""
    rows = []
    for size, mem_kb, ops_m, acc in DSCNN_PUBLISHED:
        f = dscnn_figures(size)
        rows.append(
            Row(
                f"DS-CNN {size}",
                (
                    Cell("MACs", f["macs"], MILLION),
                    Cell("Params (BN folded)", f["params_folded"], 1000, unit="K"),
                    Cell("Memory (8-bit)", f["memory_bytes_int8"], 1000, Published.of(mem_kb), "KB"),
                    Cell("Operations", f["ops"], MILLION, Published.of(ops_m)),
                ),
                {"size": size, "published_accuracy_percent": acc, **f},
            )
        )
    matching = sum(1 for r in rows if r.cells[2].matches)
    reproduced = f"all {len(rows)}" if matching == len(rows) else f"{matching} of the {len(rows)}"
    return Table(
        "ds-cnn",
        "DS-CNN S / M / L (49×10 MFCC, 12 classes): memory and operations per inference",
        DSCNN_SOURCE,
        tuple(rows),
        (
            "Params (BN folded) = conv weights + one bias per conv output channel + the fully connected "
            "layer: BatchNorm folded into the preceding conv, as deployed.",
            "Memory (8-bit) = folded params + the largest input+output activation of one layer, one byte "
            f"each (our reading of the paper's convention; it reproduces {reproduced} published figures).",
            "Operations = 2·MACs (a multiply and an add) + one operation per conv output element "
            "(BatchNorm/ReLU); inferred convention, it reproduces the published figures within their "
            "rounding.",
        ),
    )
