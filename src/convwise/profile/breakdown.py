"""Layers of a profile `Report` with their conv specs, and their costs grouped by layer type.

`layer_rows` pairs each layer row (`Report.rows()`, convwise conv layers one row each) with the conv
`LayerSpec` the report classified; `counted_layers` keeps the convolutions and fully connected layers
(the layers the papers' tables count); `by_layer_type` sums rows by a label ('standard 3x3',
'depthwise 3x3', 'linear', ... by default), as the HTML report and MobileNet's Table 2 show them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from convwise.profile.report import Report

#: Row keys summed per group by default.
BREAKDOWN_KEYS: tuple[str, ...] = ("params", "macs", "flops", "other_ops")

#: A layer row of `Report.rows()` and the conv `LayerSpec` of its module (None when not a conv).
LayerRow = tuple[dict[str, Any], Any]


def layer_rows(report: Report, depth: int | None = None) -> list[LayerRow]:
    """The report's rows at `depth` (None: layers), each with its module's conv spec (or None)."""
    out: list[LayerRow] = []
    for row in report.rows(depth):
        key = "" if row["name"] == "(top level)" else row["name"]
        out.append((row, report.nodes[key].ensure_info().spec))
    return out


def is_counted(row: dict[str, Any], spec: Any) -> bool:
    """True for a convolution (a conv spec) or a fully connected layer (`nn.Linear`)."""
    return spec is not None or row.get("kind") == "linear"


def counted_layers(report: Report) -> list[LayerRow]:
    """The layer rows of the convolutions and fully connected layers, with their specs."""
    return [(row, spec) for row, spec in layer_rows(report) if is_counted(row, spec)]


def layer_type(row: dict[str, Any], spec: Any) -> str:
    """Default group of a layer: '<variant> <kh>x<kw>' for a conv, 'linear', else the module type."""
    if spec is not None:
        kh, kw = spec.kernel_size
        return f"{spec.kind} {kh}x{kw}"
    if row.get("kind") == "linear":
        return "linear"
    return str(row.get("type") or "other")


def by_layer_type(
    layers: Iterable[LayerRow],
    label: Callable[[dict[str, Any], Any], str | None] = layer_type,
    *,
    keys: Sequence[str] = BREAKDOWN_KEYS,
    shares: Sequence[str] = ("macs", "params"),
    totals: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Layer rows grouped by `label(row, spec)` (None: left out), with their `keys` summed.

    Args:
        layers: (row, spec) pairs, e.g. from `layer_rows`.
        label: the group of a layer; the default is `layer_type`.
        keys: the row keys to sum (a missing or None value counts 0).
        shares: the summed keys that also get `<key>_share`, a float in [0, 1] (others are ignored).
        totals: denominators of the shares (e.g. `Report.totals`); default: the sums over all groups.

    Returns:
        One dict per group — `type`, `layers` (rows in it), each key's sum and shares — sorted by MACs,
        then params (largest first), then type.
    """
    groups: dict[str, dict[str, Any]] = {}
    for row, spec in layers:
        name = label(row, spec)
        if name is None:
            continue
        g = groups.setdefault(name, {"type": name, "layers": 0, **dict.fromkeys(keys, 0)})
        g["layers"] += 1
        for k in keys:
            g[k] += int(row.get(k) or 0)
    denominators = totals or {k: sum(g[k] for g in groups.values()) for k in keys}
    out = sorted(groups.values(), key=lambda g: (-g.get("macs", 0), -g.get("params", 0), g["type"]))
    for g in out:
        for k in (k for k in shares if k in keys):
            g[f"{k}_share"] = g[k] / denominators[k] if denominators[k] else 0.0
    return out


__all__ = [
    "BREAKDOWN_KEYS",
    "LayerRow",
    "by_layer_type",
    "counted_layers",
    "is_counted",
    "layer_rows",
    "layer_type",
]
