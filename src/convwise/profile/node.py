"""The profile's node model: one module's own counts, and the count keys of a row derived from them.

Every module of the model is a `Node` with its *own* counts (parameters it registers, ops attributed to
it while it was the innermost running module); folding a subtree adds its nodes' counts. `node_counts`
derives every key of a row (the layer report's keys of docs/cost-model.md, bytes, status) from those
additive counts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from convwise.core import COUNT_FIELDS
from convwise.profile.receptive import Field

#: Report statuses: every count known / some ops had no formula / the forward was not run.
STATUSES: tuple[str, ...] = ("complete", "partial", "unavailable")
#: The integer count keys of a row and of the totals (the layer report's keys first).
COUNT_KEYS: tuple[str, ...] = (
    *COUNT_FIELDS,  # the layer report's keys (docs/cost-model.md)
    "acc_adds",
    "mults_excluding_padding",
    "other_ops",
    "buffers",
    "weight_bytes",
    "input_bytes",
    "output_bytes",
    "bytes_moved",
)


@dataclass
class Node:
    """One module of the profiled model with its own (not its children's) counts."""

    name: str
    type: str
    kind: str | None
    depth: int
    children: list[str] = field(default_factory=list)
    atomic: bool = False
    description: str | None = None
    calls: int = 0
    input_shape: list[int] | None = None
    output_shape: list[int] | None = None
    params: int = 0
    trainable_params: int = 0
    frozen_params: int = 0
    shared_params: int = 0
    buffers: int = 0
    bn_statistics: int = 0
    mults: int = 0
    acc_adds: int = 0
    bias_adds: int = 0
    mults_excluding_padding: int = 0
    other_ops: int = 0
    uncounted: dict[str, int] = field(default_factory=dict)
    #: Bytes of the parameters the module owns (unique ones, at the profile's dtype).
    weight_bytes: int = 0
    #: Bytes of the module's tensor inputs / outputs, summed over its calls (its boundary).
    input_bytes: int = 0
    output_bytes: int = 0
    #: True for a leaf module or a primitive convwise conv (SpecConv2d) not nested in another unit: the
    #: modules whose activations count as memory traffic.
    unit: bool = False
    #: Activation bytes read / written by the units of this node (own; summed when a subtree is folded).
    traffic_in: int = 0
    traffic_out: int = 0
    #: op name → [calls, mults, adds, other ops] of the ops attributed to this module.
    ops: dict[str, list[int]] = field(default_factory=dict)
    #: Receptive field and jump of the module's (first call's) output (`convwise.profile.receptive.Field`).
    rf: Field | None = field(default=None, compare=False)
    #: Receptive field and jump of the module's (first call's) first input.
    rf_in: Field | None = field(default=None, compare=False)
    #: The conv `LayerSpec` of a convolution module (filled by `ensure_info`).
    spec: Any = field(default=None, repr=False, compare=False)
    #: (in_features, out_features, bias) of an `nn.Linear` module, for `convwise.core.linear_cost`.
    linear: tuple[int, int, bool] | None = field(default=None, repr=False, compare=False)
    #: Computes (kind, description, spec) on first use (classifying convs is only needed for display).
    resolve: Callable[[], tuple[str | None, str | None, Any]] | None = field(
        default=None, repr=False, compare=False
    )

    def ensure_info(self) -> Node:
        """Fill `kind`, `description` and `spec` from `resolve` once; returns self."""
        if self.resolve is not None:
            self.kind, self.description, self.spec = self.resolve()
            self.resolve = None
        return self

    def add_counts(self, other: Node) -> None:
        """Add `other`'s own counts to this node's (used to fold a subtree)."""
        for key in (
            "params",
            "trainable_params",
            "frozen_params",
            "shared_params",
            "buffers",
            "bn_statistics",
            "mults",
            "acc_adds",
            "bias_adds",
            "mults_excluding_padding",
            "other_ops",
            "weight_bytes",
            "traffic_in",
            "traffic_out",
        ):
            setattr(self, key, getattr(self, key) + getattr(other, key))
        for op, n in other.uncounted.items():
            self.uncounted[op] = self.uncounted.get(op, 0) + n
        for op, values in other.ops.items():
            mine = self.ops.setdefault(op, [0, 0, 0, 0])
            for i, v in enumerate(values):
                mine[i] += v

    def has_own_counts(self) -> bool:
        """True when the module itself owns parameters/buffers or ran ops (beside its children)."""
        return bool(
            self.params
            or self.buffers
            or self.mults
            or self.other_ops
            or self.uncounted
            or self.traffic_in
            or self.traffic_out
        )


def node_counts(node: Node, *, keras: bool, ran: bool, boundary: bool = False) -> dict[str, Any]:
    """The count keys of a row (or the totals) from a node's counts, with its status.

    Args:
        node: a module's own counts, or a folded subtree (`Report.subtree`).
        keras: add BatchNorm running mean/variance to the (non-trainable) parameters, as Keras does.
        ran: False when no forward was run (op counts unavailable).
        boundary: input/output bytes of the (folded) module itself rather than of the units inside it.
    """
    bn = node.bn_statistics if keras else 0
    adds = node.acc_adds + node.bias_adds
    flops = node.mults + adds
    if boundary or node.unit:
        in_bytes, out_bytes = node.input_bytes, node.output_bytes
    else:
        in_bytes, out_bytes = node.traffic_in, node.traffic_out
    moved = node.weight_bytes + node.traffic_in + node.traffic_out
    out: dict[str, Any] = {
        "params": node.params + bn,
        "trainable_params": node.trainable_params,
        "non_trainable_params": node.frozen_params + bn,
        "mults": node.mults,
        "adds": adds,
        "bias_adds": node.bias_adds,
        "macs": node.mults,
        "flops": flops,
        "acc_adds": node.acc_adds,
        "mults_excluding_padding": node.mults_excluding_padding,
        "other_ops": node.other_ops,
        "buffers": node.buffers,
        "weight_bytes": node.weight_bytes,
        "input_bytes": in_bytes,
        "output_bytes": out_bytes,
        "bytes_moved": moved,
        "arithmetic_intensity": flops / moved if moved and ran else None,
        "shared_params": node.shared_params,
        "uncounted_ops": dict(sorted(node.uncounted.items())),
    }
    out["status"] = "unavailable" if not ran else ("partial" if node.uncounted else "complete")
    return out
