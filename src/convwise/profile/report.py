"""The profile `Report`: per-module counts with status, folded to a depth; table/JSON/CSV/Markdown.

Every module of the model is a node with its *own* counts (parameters it registers, ops attributed to
it while it was the innermost running module); a displayed row shows a node's own counts when its
children are shown too, or its whole subtree when folded. The displayed rows always sum to the
totals, and the totals never depend on the display depth.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from convwise.core import COUNT_FIELDS, config_error, fmt
from convwise.profile.receptive import NO_FIELD, Field

#: Version of the JSON layout (`summary.schema.json`); bumped on any incompatible change.
SCHEMA_VERSION = "1.2"
#: Report statuses: every count known / some ops had no formula / the forward was not run.
STATUSES: tuple[str, ...] = ("complete", "partial", "unavailable")
#: The integer count keys of a row and of the totals (SPEC §3 keys first).
COUNT_KEYS: tuple[str, ...] = (
    *COUNT_FIELDS,  # SPEC §3's keys, as convwise.core defines them
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


def _counts(node: Node, *, keras: bool, ran: bool, boundary: bool = False) -> dict[str, Any]:
    """Counts of a node; `boundary`: input/output bytes of the (folded) module itself, not its units'."""
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


def _field_steps(node: Node) -> list[str]:
    """SPEC §2's recurrence through a conv layer's stages, from the field of its input."""
    start, spec = node.rf_in, node.spec
    if start is None or start.size is None or start.jump is None or spec is None:
        return []
    lines = []
    r, j = list(start.size), list(start.jump)
    for stage in spec.stages:
        for axis, label in ((0, "height"), (1, "width")):
            k, s, d = stage.kernel_size[axis], stage.stride[axis], stage.dilation[axis]
            new = r[axis] + d * (k - 1) * j[axis]
            text = f"[{stage.role}] receptive field ({label}) = r + d·(k−1)·j = "
            text += f"{r[axis]} + {d}·({k}−1)·{j[axis]} = {new}"
            if s != 1:
                text += f"; jump = j·s = {j[axis]}·{s} = {j[axis] * s}"
            lines.append(text)
            r[axis], j[axis] = new, j[axis] * s
    return lines


def _field_text(row: dict[str, Any], *, long: bool = False) -> str:
    """'15×15 (4×4)' (receptive field, jump), 'global', '?' (unknown) or '' (none) for a row or totals."""
    r, j, note = row.get("receptive_field"), row.get("jump"), row.get("receptive_field_note")
    if r is None:
        return (f"unknown ({note})" if long else "?") if note else ""
    size = f"{r[0]}×{r[1]}"
    if long:
        text = f"{size}, jump {j[0]}×{j[1]}" if j else size
        if row.get("receptive_field_global"):
            text += ", global (every position of the input's feature maps mixed)"
        return text + (f" — {note}" if note else "")
    if row.get("receptive_field_global"):
        return "global"
    return (f"{size} ({j[0]}×{j[1]})" if j else size) + ("*" if note else "")


def _shape_text(shape: list[int] | None) -> str:
    if shape is None:
        return "—"
    return "(" + ", ".join(str(v) for v in shape) + ")"


#: Table/CSV/Markdown columns: key → header.
COLUMNS: dict[str, str] = {
    "layer": "Layer (type)",
    "name": "Layer",
    "type": "Type",
    "kind": "Kind",
    "calls": "Calls",
    "input_shape": "Input shape",
    "output_shape": "Output shape",
    "params": "Param #",
    "trainable_params": "Trainable",
    "non_trainable_params": "Non-trainable",
    "buffers": "Buffers",
    "mults": "Mults",
    "adds": "Adds",
    "bias_adds": "Bias adds",
    "macs": "MACs",
    "flops": "FLOPs",
    "mults_excluding_padding": "Mults (no pad)",
    "other_ops": "Other ops",
    "weight_bytes": "Weight B",
    "input_bytes": "Input B",
    "output_bytes": "Output B",
    "bytes_moved": "Bytes moved",
    "bytes": "Bytes moved",
    "arithmetic_intensity": "FLOPs/B",
    "intensity": "FLOPs/B",
    "status": "Status",
    "rf": "RF (jump)",
}
DEFAULT_COLUMNS: tuple[str, ...] = ("layer", "output_shape", "params", "macs", "other_ops")
#: Short column names: `--columns bytes,intensity`.
_ALIASES: dict[str, str] = {"bytes": "bytes_moved", "intensity": "arithmetic_intensity"}
_ALIASES_CSV: dict[str, tuple[str]] = {k: (v,) for k, v in _ALIASES.items()}
#: Headers of the table, including the compact receptive-field column used when the full one does not fit.
_HEADERS: dict[str, str] = {**COLUMNS, "rf_size": "RF"}


def parse_columns(columns: str | list[str] | tuple[str, ...] | None) -> list[str]:
    """Column keys from 'a,b,c' or a list; None gives the defaults.

    Raises:
        ConfigError: for an unknown column.
    """
    if columns is None:
        return list(DEFAULT_COLUMNS)
    keys = [c.strip() for c in columns.split(",")] if isinstance(columns, str) else list(columns)
    keys = [k for k in keys if k]
    bad = [k for k in keys if k not in COLUMNS]
    if bad or not keys:
        raise config_error(
            f"`columns` must be a comma-separated list of: {', '.join(COLUMNS)}.", columns=columns
        )
    return keys


@dataclass
class Report:
    """What `convwise.profile.profile` measured, with the conventions each number follows.

    Attributes:
        model_name: name of the model (its class or the TARGET).
        nodes: every module, in `named_modules` order; the root is named ''.
        input_shapes: the shapes of the tensors the forward was run on (N first).
        batch: N, the leading dimension of the inputs (op counts are for the whole batch).
        ran_on: 'meta' when the forward ran on the meta device, else the real device used.
        fallback: why the meta device could not be used (None when it was).
        ran: False when no input was given (parameters only; op counts unavailable).
        keras: count BatchNorm running mean/variance as non-trainable parameters, as Keras does.
        param_bytes: bytes of the unique parameters at their dtype.
        notes: extra remarks (e.g. a forward that was run in training mode).
    """

    model_name: str
    nodes: dict[str, Node]
    input_shapes: list[list[int]]
    batch: int
    dtype: str
    ran_on: str
    fallback: str | None
    ran: bool
    keras: bool = False
    param_bytes: int = 0
    training: bool = False
    notes: list[str] = field(default_factory=list)

    # --- aggregation ---------------------------------------------------------------------------------

    def subtree(self, name: str) -> Node:
        """A node whose counts are the sum over `name` and all its descendants."""
        src = self.nodes[name].ensure_info()
        total = Node(src.name, src.type, src.kind, src.depth, list(src.children), src.atomic, src.description)
        total.calls, total.input_shape, total.output_shape = src.calls, src.input_shape, src.output_shape
        total.input_bytes, total.output_bytes = src.input_bytes, src.output_bytes
        total.spec = src.spec
        total.rf, total.rf_in = src.rf, src.rf_in
        stack = [name]
        while stack:
            n = stack.pop()
            total.add_counts(self.nodes[n])
            stack.extend(self.nodes[n].children)
        return total

    def with_keras(self, keras: bool = True) -> Report:
        """The same report with the Keras view switched on or off."""
        clone = Report(**{k: getattr(self, k) for k in self.__dataclass_fields__})
        clone.keras = keras
        return clone

    @property
    def status(self) -> str:
        """'complete', 'partial' (some ops had no formula) or 'unavailable' (not run)."""
        if not self.ran:
            return "unavailable"
        return "partial" if any(n.uncounted for n in self.nodes.values()) else "complete"

    @property
    def totals(self) -> dict[str, Any]:
        """Counts of the whole model (independent of any display depth) and its output's receptive field."""
        out = _counts(self.subtree(""), keras=self.keras, ran=self.ran)
        out.update(self._field(self.nodes[""]))
        return out

    def _field(self, node: Node) -> dict[str, Any]:
        return node.rf.to_dict() if self.ran and node.rf is not None else dict(NO_FIELD)

    @property
    def receptive_field(self) -> Field | None:
        """Receptive field and jump of the model's output (None: not run, or no 4-D input)."""
        return self.nodes[""].rf if self.ran else None

    def default_columns(self) -> list[str]:
        """`DEFAULT_COLUMNS`, plus `rf` when the model has a receptive field (a 4-D input was run)."""
        has_rf = self.ran and any(n.rf is not None and n.rf.size is not None for n in self.nodes.values())
        return [*DEFAULT_COLUMNS, "rf"] if has_rf else list(DEFAULT_COLUMNS)

    def _display_nodes(self, depth: int | None) -> list[tuple[Node, bool]]:
        """(node or folded subtree, folded?) in pre-order, for rows shown at `depth`."""
        if depth is not None and depth < 0:
            raise config_error("`depth` must be a non-negative integer.", depth=depth)
        out: list[tuple[Node, bool]] = []

        def visit(name: str) -> None:
            node = self.nodes[name]
            fold = (
                not node.children
                or (depth is not None and node.depth >= depth)
                or (depth is None and node.atomic)
            )
            if fold:
                out.append((self.subtree(name) if node.children else node, bool(node.children)))
                return
            if node.has_own_counts():
                out.append((node, False))
            for child in node.children:
                visit(child)

        visit("")
        return out

    def rows(self, depth: int | None = None) -> list[dict[str, Any]]:
        """The rows shown at `depth` (None: down to layers — convwise conv layers are one row each).

        A row's counts are the module's own when its children are shown too (``folded`` False), or its
        subtree's when folded; the rows always add up to `totals`.
        """
        rows = []
        for node, folded in self._display_nodes(depth):
            node.ensure_info()
            row: dict[str, Any] = {
                "name": node.name or "(top level)",
                "type": node.type,
                "kind": node.kind,
                "depth": node.depth,
                "folded": folded,
                "calls": node.calls,
                "input_shape": node.input_shape,
                "output_shape": node.output_shape,
            }
            if node.description:
                row["description"] = node.description
            row.update(_counts(node, keras=self.keras, ran=self.ran, boundary=folded))
            row.update(self._field(node))
            rows.append(row)
        return rows

    def explain(self, name: str) -> str:
        """How the numbers of module `name` (its whole subtree) were obtained, one line each.

        For a convolution, the core formulas with the numbers substituted (first call's input); then
        every op attributed to the module with its calls and counts.

        Raises:
            ConfigError: for a name that is not a module of the model.
        """
        key = "" if name in ("", "(top level)") else name
        if key not in self.nodes:
            raise config_error("`name` must be a module of the model (see the Layer column).", name=name)
        node = self.subtree(key)
        shape = node.input_shape
        lines = [
            f"{name or '(top level)'} ({node.type}): {node.calls} call(s), first input {_shape_text(shape)}"
        ]
        if node.description:
            lines.append(f"  variant: {node.description}")
        if self.ran and node.rf is not None:
            lines.append(f"  receptive field of the output: {_field_text(node.rf.to_dict(), long=True)}")
            lines.extend("  " + line for line in _field_steps(node))
        if node.spec is not None and shape is not None and len(shape) == 4:
            from convwise.core import layer_cost

            try:
                cost = layer_cost(node.spec, (shape[1], shape[2], shape[3]), batch=shape[0])
                lines.extend("  " + line for line in cost.explain().splitlines())
            except ValueError as exc:
                lines.append(f"  (core formulas not applicable to this input: {exc})")
        counts = _counts(node, keras=self.keras, ran=self.ran)
        lines.append(
            f"  params {fmt(counts['params'])} (trainable {fmt(counts['trainable_params'])}, "
            f"non-trainable {fmt(counts['non_trainable_params'])}), buffers {fmt(counts['buffers'])}"
        )
        if not self.ran:
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

    # --- rendering ------------------------------------------------------------------------------------

    def conventions(self) -> dict[str, str]:
        """What each number means (shown under the table and stored in the JSON)."""
        return {
            "macs": "multiplications of conv / linear / matmul / attention (MobileNet's Mult-Adds); "
            "taps over padding zeros included",
            "flops": "mults + adds of those same ops (accumulation + bias additions)",
            "other_ops": "normalisation 2/element, activations and element-wise 1/element, max pool k−1 "
            "and average pool k per output element, mean 1 per input element, interpolation its weights' "
            "products and additions per output element; never in MACs",
            "params": "unique parameters (a shared one counted once)"
            + ("; Keras view: + BatchNorm running mean/variance" if self.keras else ""),
            "trainable_params": "parameters with requires_grad",
            "non_trainable_params": "frozen parameters"
            + (" + BatchNorm running mean/variance (Keras view)" if self.keras else ""),
            "buffers": "elements of registered buffers (BatchNorm statistics, counters, …)",
            "bytes": f"SPEC §2 memory at {self.dtype} (floating tensors at its element size): weight_bytes = "
            "parameters the layer owns (unique, counted once; buffers not included); input_bytes / "
            "output_bytes = the module's tensor inputs / outputs summed over its calls; bytes_moved = "
            "weights + inputs + outputs; arithmetic_intensity = flops / bytes_moved. A folded row shows its "
            "own input/output but moves the sum over the layers inside it (a composite conv: Σ over "
            "stages, as convwise.core.layer_cost). Totals: weights of the unique parameters + activations "
            "summed over the leaf layers = the traffic if every layer reads its input and writes its "
            "output once (functional ops outside leaf modules not included)",
            "receptive_field": "receptive field and jump (H, W) of a layer's output in input pixels, padding "
            "included: r ← r + d·(k−1)·j, j ← j·s from r = j = 1 (SPEC §2); branches take the largest; "
            "global = every position mixed (global pooling, flatten → linear): r + (size−1)·j",
            "counts": f"for the whole batch of {self.batch}" if self.batch != 1 else "per sample (batch 1)",
        }

    def to_dict(self, depth: int | None = None) -> dict[str, Any]:
        """The SPEC §3 summary: `layers` (rows at `depth`) and `totals`, plus run metadata."""
        return {
            "schema_version": SCHEMA_VERSION,
            "model": self.model_name,
            "status": self.status,
            "input_shapes": self.input_shapes,
            "batch": self.batch,
            "dtype": self.dtype,
            "ran_on": self.ran_on,
            "fallback": self.fallback,
            "training": self.training,
            "keras_view": self.keras,
            "depth": depth,
            "param_bytes": self.param_bytes,
            "conventions": self.conventions(),
            "notes": list(self.notes),
            "layers": self.rows(depth),
            "totals": self.totals,
        }

    def to_json(self, depth: int | None = None, indent: int | None = 2) -> str:
        """`to_dict` as JSON text (integers exact)."""
        return json.dumps(self.to_dict(depth), indent=indent)

    @staticmethod
    def _cell(row: dict[str, Any], key: str, *, plain: bool) -> str:
        key = _ALIASES.get(key, key)
        if key == "arithmetic_intensity":
            value = row.get(key)
            if value is None:
                return ""
            return repr(value) if plain else f"{value:,.2f}"
        if key == "layer":
            return f"{row['name']} ({row['type']})"
        if key == "rf":
            return _field_text(row)
        if key == "rf_size":
            return _field_text({**row, "jump": None, "receptive_field_note": None})
        if key in ("receptive_field", "jump"):
            pair = row.get(key)
            return "x".join(str(v) for v in pair) if pair else ""
        if key in ("input_shape", "output_shape"):
            shape = row[key]
            if plain:
                return "x".join(str(v) for v in shape) if shape else ""
            text = _shape_text(shape)
            return text + (f" ×{row['calls']}" if key == "output_shape" and row["calls"] > 1 else "")
        value = row.get(key)
        if value is None:
            return ""
        if isinstance(value, bool) or not isinstance(value, int):
            return str(value)
        if not plain and row.get("status") == "unavailable" and key in ("mults", "adds", "macs", "flops"):
            return "?"
        if plain:
            return str(value)
        text = fmt(value)
        if not plain and key in ("macs", "flops", "mults", "other_ops") and row.get("uncounted_ops"):
            text += "+?"
        return text

    def to_csv(self, depth: int | None = None, columns: list[str] | None = None) -> str:
        """CSV of the rows (exact integers, shapes as NxCxHxW) and a final 'TOTAL' row."""
        keys = columns or [
            "name",
            "type",
            "kind",
            "calls",
            "input_shape",
            "output_shape",
            *COUNT_KEYS,
            "arithmetic_intensity",
            "status",
            "receptive_field",
            "jump",
            "receptive_field_global",
        ]
        expand = {"layer": ("name", "type"), "rf": ("receptive_field", "jump"), **_ALIASES_CSV}
        keys = [part for k in keys for part in expand.get(k, (k,))]
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(keys)
        for row in self.rows(depth):
            writer.writerow([self._cell(row, k, plain=True) for k in keys])
        total = {
            "name": "TOTAL",
            "type": "",
            "kind": None,
            "calls": 0,
            "input_shape": None,
            "output_shape": None,
        }
        total.update(self.totals)
        writer.writerow([self._cell(total, k, plain=True) for k in keys])
        return buf.getvalue()

    def to_markdown(self, depth: int | None = None, columns: list[str] | None = None) -> str:
        """A GitHub Markdown table of the rows with a bold totals row, then the totals lines."""
        keys = columns or self.default_columns()
        lines = ["| " + " | ".join(COLUMNS[k] for k in keys) + " |"]
        numeric = {
            k
            for k in keys
            if k not in ("layer", "name", "type", "kind", "input_shape", "output_shape", "status", "rf")
        }
        lines.append("|" + "|".join("---:" if k in numeric else "---" for k in keys) + "|")
        for row in self.rows(depth):
            lines.append(
                "| " + " | ".join(self._cell(row, k, plain=False).replace("|", "\\|") for k in keys) + " |"
            )
        total = {
            "name": "Total",
            "type": self.model_name,
            "calls": 0,
            "input_shape": None,
            "output_shape": None,
        }
        total.update(self.totals)
        cells = []
        for k in keys:
            text = (
                self._cell(total, k, plain=False)
                if k not in ("layer", "input_shape", "output_shape", "rf")
                else ""
            )
            cells.append(f"**{text}**" if text else "")
        cells[0] = "**Total**"
        lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
        lines.extend(f"- {line}" for line in self.footer_lines())
        return "\n".join(lines) + "\n"

    def footer_lines(self) -> list[str]:
        """The Keras-like totals under the table."""
        t = self.totals
        width = self.param_bytes / max(sum(n.params for n in self.nodes.values()), 1) or 4

        def size(n: int) -> str:
            b = n * width
            for unit in ("B", "KB", "MB", "GB"):
                if b < 1024 or unit == "GB":
                    return f"{b:,.2f} {unit}" if unit != "B" else f"{int(b)} B"
                b /= 1024
            return ""

        lines = [
            f"Total params: {fmt(t['params'])} ({size(t['params'])})",
            f"Trainable params: {fmt(t['trainable_params'])} ({size(t['trainable_params'])})",
            f"Non-trainable params: {fmt(t['non_trainable_params'])} ({size(t['non_trainable_params'])})"
            + ("  [Keras view: includes BatchNorm moving mean/variance]" if self.keras else ""),
        ]
        if t["shared_params"]:
            lines.append(f"Shared parameters counted once: {fmt(t['shared_params'])} elements skipped")
        lines.append(f"Buffers: {fmt(t['buffers'])} elements (not parameters)")
        if self.ran:
            scope = f"batch of {self.batch}" if self.batch != 1 else "per sample"
            lines.append(
                f"MACs: {fmt(t['macs'])} · FLOPs: {fmt(t['flops'])} · "
                f"other ops: {fmt(t['other_ops'])} ({scope})"
            )
            shapes = ", ".join(_shape_text(s) for s in self.input_shapes)
            where = (
                "meta device (no activation memory)"
                if self.ran_on == "meta"
                else f"real tensors on {self.ran_on}"
            )
            lines.append(f"Input (N, C, H, W): {shapes} · run on the {where} · status: {self.status}")
            if self.fallback:
                lines.append(f"Fallback: {self.fallback}")
            if t["receptive_field"] is not None or t["receptive_field_note"]:
                lines.append(
                    f"Receptive field of the output (H×W, padding included): {_field_text(t, long=True)}"
                )
            if t["uncounted_ops"]:
                ops = ", ".join(f"{k} ×{v}" for k, v in t["uncounted_ops"].items())
                lines.append(f"No formula (not counted, marked +?): {ops}")
        else:
            lines.append("MACs / FLOPs: unavailable (no input shape given) · status: unavailable")
        lines.extend(self.notes)
        return lines

    def table(self, depth: int | None = None, columns: list[str] | None = None) -> Any:
        """A `rich.table.Table` reading like Keras' `model.summary()`."""
        from rich import box
        from rich.table import Table

        keys = columns or self.default_columns()
        table = Table(
            title=f'Model: "{self.model_name}"',
            caption="shapes: (N, C, H, W) for feature maps, (N, features) for vectors",
            caption_justify="left",
            box=box.SIMPLE_HEAD,
            title_justify="left",
        )
        numeric = {
            k
            for k in keys
            if k
            not in ("layer", "name", "type", "kind", "input_shape", "output_shape", "status", "rf", "rf_size")
        }
        for k in keys:
            table.add_column(
                _HEADERS[k], justify="right" if numeric.__contains__(k) else "left", no_wrap=k != "layer"
            )
        for row in self.rows(depth):
            table.add_row(*(self._cell(row, k, plain=False) for k in keys))
        return table

    def _natural_width(self, depth: int | None, keys: list[str]) -> int:
        from rich.console import Console

        buf = io.StringIO()
        Console(file=buf, width=10_000, color_system=None, soft_wrap=False).print(self.table(depth, keys))
        return max((len(line.rstrip()) for line in buf.getvalue().splitlines()), default=0)

    def fitted_columns(self, depth: int | None = None, width: int = 120) -> list[str]:
        """The default table columns for a `width`-character screen.

        `DEFAULT_COLUMNS` plus the receptive field: as `rf` ('15×15 (4×4)', with the jump) when it fits,
        else the field alone ('15×15'), else not at all (it stays in the JSON/CSV and the totals line).
        """
        keys = self.default_columns()
        if "rf" not in keys:
            return keys
        for variant in ("rf", "rf_size"):
            candidate = [variant if k == "rf" else k for k in keys]
            if self._natural_width(depth, candidate) <= width:
                return candidate
        return list(DEFAULT_COLUMNS)

    def render(self, depth: int | None = None, columns: list[str] | None = None, width: int = 120) -> str:
        """The table and the totals as plain text (what `print(report)` shows)."""
        from rich.console import Console

        buf = io.StringIO()
        console = Console(file=buf, width=width, color_system=None, highlight=False, soft_wrap=False)
        console.print(self.table(depth, columns or self.fitted_columns(depth, width)))
        for line in self.footer_lines():
            console.print(" " + line, highlight=False, markup=False, soft_wrap=True)
        return "\n".join(line.rstrip() for line in buf.getvalue().splitlines()) + "\n"

    def print(self, depth: int | None = None, columns: list[str] | None = None) -> None:
        """Print the table and totals to the terminal (with colour when it supports it)."""
        from rich.console import Console

        console = Console(highlight=False)
        if not console.is_terminal:  # plain text, without rich's padding
            print(self.render(depth, columns, width=max(console.width, 160)), end="")
            return
        console.print(self.table(depth, columns or self.fitted_columns(depth, console.width)))
        for line in self.footer_lines():
            console.print(" " + line, markup=False, soft_wrap=True)

    def __str__(self) -> str:
        return self.render()
