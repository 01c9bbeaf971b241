"""Explaining a profile `Report`: how one module's numbers were obtained, and what each number means."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from convwise.core import config_error, fmt
from convwise.profile.node import Node, node_counts
from convwise.profile.render import field_text, shape_text

if TYPE_CHECKING:
    from convwise.profile.report import Report


def field_steps(node: Node) -> list[str]:
    """The receptive-field recurrence (docs/cost-model.md) through a conv layer's stages (`convwise.core`)."""
    from convwise.core import Window, receptive_field

    start, spec = node.rf_in, node.spec
    if start is None or start.size is None or start.jump is None or spec is None:
        return []
    windows = [Window(st.kernel_size, st.stride, st.dilation, st.role) for st in spec.stages]
    return [e.text() for e in receptive_field(windows, start=(start.size, start.jump)).steps]


def explain(report: Report, name: str) -> str:
    """How the numbers of module `name` (its whole subtree) were obtained, one line each.

    For a convolution, the core formulas with the numbers substituted (first call's input); then
    every op attributed to the module with its calls and counts.

    Raises:
        ConfigError: for a name that is not a module of the model.
    """
    key = "" if name in ("", "(top level)") else name
    if key not in report.nodes:
        raise config_error("`name` must be a module of the model (see the Layer column).", name=name)
    node = report.subtree(key)
    shape = node.input_shape
    lines = [f"{name or '(top level)'} ({node.type}): {node.calls} call(s), first input {shape_text(shape)}"]
    if node.description:
        lines.append(f"  variant: {node.description}")
    if report.ran and node.rf is not None:
        lines.append(f"  receptive field of the output: {field_text(node.rf.to_dict(), long=True)}")
        lines.extend("  " + line for line in field_steps(node))
    if node.spec is not None and shape is not None and len(shape) == 4:
        from convwise.core import layer_cost

        try:
            cost = layer_cost(node.spec, (shape[1], shape[2], shape[3]), batch=shape[0])
            lines.extend("  " + line for line in cost.explain().splitlines())
        except ValueError as exc:
            lines.append(f"  (core formulas not applicable to this input: {exc})")
    if node.linear is not None and shape:
        from convwise.core import linear_cost

        in_features, out_features, bias = node.linear
        rows = math.prod(shape[:-1])
        cost = linear_cost(in_features, out_features, rows=rows, bias=bias)
        scope = " (first call)" if node.calls > 1 else ""
        lines.append(f"  linear layer {in_features}→{out_features} on {fmt(rows)} rows{scope}:")
        lines.extend("    " + e.text() for e in cost.explanations[:7])
    counts = node_counts(node, keras=report.keras, ran=report.ran)
    lines.append(
        f"  params {fmt(counts['params'])} (trainable {fmt(counts['trainable_params'])}, "
        f"non-trainable {fmt(counts['non_trainable_params'])}), buffers {fmt(counts['buffers'])}"
    )
    if not report.ran:
        lines.append("  ops: unavailable (no input given)")
        return "\n".join(lines)
    lines.append("  ops dispatched (all calls, whole batch):")
    for op, (calls, mults, adds, other) in sorted(node.ops.items()):
        parts = [f"×{calls}"]
        if mults or adds:
            parts.append(f"mults {fmt(mults)}, adds {fmt(adds)}")
        if other:
            parts.append(f"other ops {fmt(other)}")
        if not (mults or adds or other):
            parts.append("no arithmetic")
        lines.append(f"    {op}: " + ", ".join(parts))
    for op, calls in sorted(node.uncounted.items()):
        lines.append(f"    {op}: ×{calls}, NO FORMULA (not counted)")
    lines.append(
        f"  total: MACs {fmt(counts['macs'])}, FLOPs {fmt(counts['flops'])}, "
        f"other ops {fmt(counts['other_ops'])}, status {counts['status']}"
    )
    return "\n".join(lines)


def _scope(batch: int | None) -> str:
    if batch is None:
        return "for the inputs given (see input_shapes; the batch size was not stated)"
    return f"for the whole batch of {batch}" if batch != 1 else "per sample (batch 1)"


def conventions(report: Report) -> dict[str, str]:
    """What each number means (shown under the table and stored in the JSON)."""
    return {
        "macs": "multiplications of conv / linear / matmul / attention / recurrent layers (MobileNet's "
        "Mult-Adds), costed from the call whichever kernel runs it; taps over padding zeros included",
        "flops": "mults + adds of those same ops (accumulation + bias additions)",
        "other_ops": "normalisation 2/element, activations and element-wise 1/element, max pool k−1 "
        "and average pool k per output element, mean 1 per input element, interpolation its weights' "
        "products and additions per output element, dropout 1/element in training, recurrent gates "
        "(LSTM 13·H, GRU 10·H, RNN 2·H per token), attention scaling and softmax; never in MACs",
        "params": "unique parameters (a shared one counted once)"
        + ("; Keras view: + BatchNorm running mean/variance" if report.keras else ""),
        "trainable_params": "parameters with requires_grad",
        "non_trainable_params": "frozen parameters"
        + (" + BatchNorm running mean/variance (Keras view)" if report.keras else ""),
        "buffers": "elements of registered buffers (BatchNorm statistics, counters, …)",
        "bytes": (
            f"memory (docs/cost-model.md) at {report.dtype} (floating tensors at its element size): "
            "weight_bytes = parameters the layer owns (unique, counted once; buffers not included); "
            "input_bytes / output_bytes = the module's tensor inputs / outputs summed over its calls; "
            "bytes_moved = weights + inputs + outputs; arithmetic_intensity = flops / bytes_moved. A folded "
            "row shows its own input/output but moves the sum over the layers inside it (a composite conv: Σ "
            "over stages, as convwise.core.layer_cost). Totals: weights of the unique parameters + "
            "activations summed over the leaf layers = the traffic if every layer reads its input and writes "
            "its output once (functional ops outside leaf modules not included)"
        ),
        "receptive_field": "receptive field and jump (H, W) of a layer's output in input pixels, padding "
        "included: r ← r + d·(k−1)·j, j ← j·s from r = j = 1 (docs/cost-model.md); branches take the "
        "largest; global = every position mixed (global pooling, flatten → linear): r + (size−1)·j",
        "counts": _scope(report.batch),
    }
