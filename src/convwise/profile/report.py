"""The profile `Report`: every module's counts with a status, folded to any depth; rendered on demand.

The node model is `convwise.profile.node`; what the numbers mean and how one module's were obtained is
`convwise.profile.explain`; the table, CSV and Markdown renderers are `convwise.profile.render`. A
displayed row shows a node's own counts when its children are shown too, or its whole subtree when
folded: the displayed rows always sum to the totals, and the totals never depend on the display depth.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from convwise.core import config_error
from convwise.profile import explain as _explain
from convwise.profile import render as _render
from convwise.profile.node import COUNT_KEYS, STATUSES, Node, node_counts
from convwise.profile.receptive import NO_FIELD, Field
from convwise.profile.render import COLUMNS, DEFAULT_COLUMNS, parse_columns

#: Version of the JSON layout (`summary.schema.json`); bumped on any incompatible change.
SCHEMA_VERSION = "1.3"


@dataclass
class Report:
    """What `convwise.profile.profile` measured, with the conventions each number follows.

    Attributes:
        model_name: name of the model (its class or the TARGET).
        nodes: every module, in `named_modules` order; the root is named ''.
        input_shapes: the shapes of the tensors the forward was run on (N first).
        batch: N, the batch the inputs were built with (op counts are for the whole batch); None for
            example inputs given without a stated batch.
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
    batch: int | None
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
        total.spec, total.linear = src.spec, src.linear
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
        out = node_counts(self.subtree(""), keras=self.keras, ran=self.ran)
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
            row.update(node_counts(node, keras=self.keras, ran=self.ran, boundary=folded))
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
        return _explain.explain(self, name)

    # --- rendering ------------------------------------------------------------------------------------

    def conventions(self) -> dict[str, str]:
        """What each number means (shown under the table and stored in the JSON)."""
        return _explain.conventions(self)

    def to_dict(self, depth: int | None = None) -> dict[str, Any]:
        """The JSON summary (docs/cost-model.md): `layers` (rows at `depth`), `totals`, run metadata."""
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

    def to_csv(self, depth: int | None = None, columns: list[str] | None = None) -> str:
        """CSV of the rows (exact integers, shapes as NxCxHxW) and a final 'TOTAL' row."""
        return _render.to_csv(self, depth, columns)

    def to_markdown(self, depth: int | None = None, columns: list[str] | None = None) -> str:
        """A GitHub Markdown table of the rows with a bold totals row, then the totals lines."""
        return _render.to_markdown(self, depth, columns)

    def footer_lines(self) -> list[str]:
        """The Keras-like totals under the table."""
        return _render.footer_lines(self)

    def table(self, depth: int | None = None, columns: list[str] | None = None) -> Any:
        """A `rich.table.Table` reading like Keras' `model.summary()`."""
        return _render.table(self, depth, columns)

    def _natural_width(self, depth: int | None, keys: list[str]) -> int:
        return _render.natural_width(self, depth, keys)

    def fitted_columns(self, depth: int | None = None, width: int = 120) -> list[str]:
        """The default table columns for a `width`-character screen (see `render.fitted_columns`)."""
        return _render.fitted_columns(self, depth, width)

    def render(self, depth: int | None = None, columns: list[str] | None = None, width: int = 120) -> str:
        """The table and the totals as plain text (what `print(report)` shows)."""
        return _render.render(self, depth, columns, width)

    def print(self, depth: int | None = None, columns: list[str] | None = None) -> None:
        """Print the table and totals to the terminal (with colour when it supports it)."""
        _render.print_report(self, depth, columns)

    def __str__(self) -> str:
        return self.render()


__all__ = [
    "COLUMNS",
    "COUNT_KEYS",
    "DEFAULT_COLUMNS",
    "SCHEMA_VERSION",
    "STATUSES",
    "Node",
    "Report",
    "node_counts",
    "parse_columns",
]
