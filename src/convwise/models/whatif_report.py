"""The result of a what-if rewrite: replaced and skipped layers, totals, and how it renders (JSON, rich).

`WhatIfResult` is what `convwise.models.whatif.whatif` returns; `ReplacedLayer` is one rewritten conv
with its exact costs before and after (per sample). `print(result)`-style output is rich's: a console
prints a `WhatIfResult` as a table of the replaced layers, then the skipped ones and the totals.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from convwise.core import LayerSpec, fmt

if TYPE_CHECKING:  # pragma: no cover - typing only
    from rich.console import Console, ConsoleOptions, RenderableType
    from torch import nn


def _ratio(after: int, before: int) -> float | None:
    return after / before if before else None


def _shape(shape: tuple[int, ...] | None) -> list[int] | None:
    """One sample's (C, H, W) as the N, C, H, W list of a report (batch 1)."""
    return None if shape is None else [1, *shape]


@dataclass(frozen=True)
class ReplacedLayer:
    """One replaced convolution: its specs and exact costs before and after (per sample).

    Attributes:
        name: qualified module name ('a + b' for a depthwise and a 1×1 conv seen as one block).
        before, after: the specs of the original and of the rewritten layer.
        input_shape, output_shape: (C, H, W) of one sample; None when the forward did not run the layer.
        params_before, params_after: parameters (weights and biases).
        macs_before, macs_after: MACs of every call; None when the layer did not run.
        theory: the predicted MACs ratio after / before (`convwise.core.ratio_theory`).
        theory_formula: its formula with the numbers substituted.
        projection: with a projected width multiplier α, the rewritten layer's cost with thinned channels.
    """

    name: str
    before: LayerSpec
    after: LayerSpec
    input_shape: tuple[int, int, int] | None
    output_shape: tuple[int, ...] | None
    params_before: int
    params_after: int
    macs_before: int | None
    macs_after: int | None
    theory: Fraction
    theory_formula: str
    projection: dict[str, Any] | None = None

    @property
    def macs_ratio(self) -> Fraction | None:
        """Measured MACs after / before (exact)."""
        if not self.macs_before or self.macs_after is None:
            return None
        return Fraction(self.macs_after, self.macs_before)

    @property
    def params_ratio(self) -> Fraction | None:
        """Params after / before (exact, biases included)."""
        return Fraction(self.params_after, self.params_before) if self.params_before else None

    def to_dict(self) -> dict[str, Any]:
        """JSON form (integers exact, ratios as floats)."""
        macs, params = self.macs_ratio, self.params_ratio
        return {
            "name": self.name,
            "before": self.before.describe(),
            "after": self.after.describe(),
            "input_shape": _shape(self.input_shape),
            "output_shape": _shape(self.output_shape),
            "params_before": self.params_before,
            "params_after": self.params_after,
            "macs_before": self.macs_before,
            "macs_after": self.macs_after,
            "macs_ratio": None if macs is None else float(macs),
            "params_ratio": None if params is None else float(params),
            "theory_ratio": float(self.theory),
            "theory_formula": self.theory_formula,
            "width_multiplier_projection": self.projection,
        }


@dataclass(frozen=True)
class SkippedLayer:
    """A convolution that was not replaced, and why."""

    name: str
    reason: str
    eligible: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"name": self.name, "reason": self.reason, "eligible": self.eligible}


@dataclass
class WhatIfResult:
    """The rewritten model and the report of what changed.

    Attributes:
        model: the rewritten copy (None for a cost-only rewrite such as `standard_equivalent`).
        rewrite: what the convolutions were rewritten into, in words.
        input_shape: (C, H, W) of one sample.
        replaced, skipped: the layers rewritten, and those left as they are (with the reason).
        params_before, params_after, macs_before, macs_after: totals (MACs of the convolutions and fully
            connected layers).
        output_shape: the model's output shape(s), kept by the rewrite.
        projected_width_multiplier: α of the per-layer projections, if asked for.
        kind, groups, depth_multiplier: the rewrite's variant and its arguments.
    """

    model: nn.Module | None
    rewrite: str
    input_shape: tuple[int, int, int]
    replaced: tuple[ReplacedLayer, ...]
    skipped: tuple[SkippedLayer, ...]
    params_before: int
    params_after: int
    macs_before: int
    macs_after: int
    output_shape: Any
    projected_width_multiplier: float | None = None
    notes: list[str] = field(default_factory=list)
    kind: str = "separable"
    groups: int = 1
    depth_multiplier: int = 1

    def to_dict(self) -> dict[str, Any]:
        """JSON form of the report (the model itself is not serialised)."""
        return {
            "rewrite": self.rewrite,
            "kind": self.kind,
            "groups": self.groups,
            "depth_multiplier": self.depth_multiplier,
            "projected_width_multiplier": self.projected_width_multiplier,
            "input_shape": _shape(self.input_shape),
            "output_shape": self.output_shape,
            "replaced": [r.to_dict() for r in self.replaced],
            "skipped": [s.to_dict() for s in self.skipped],
            "totals": {
                "params_before": self.params_before,
                "params_after": self.params_after,
                "params_ratio": _ratio(self.params_after, self.params_before),
                "macs_before": self.macs_before,
                "macs_after": self.macs_after,
                "macs_ratio": _ratio(self.macs_after, self.macs_before),
            },
            "notes": self.notes,
        }

    # ------------------------------------------------------------------------------------ rich
    def table(self) -> Any:
        """The replaced layers as a rich `Table`: before → after, params, MACs, predicted and measured."""
        from rich.table import Table

        table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
        for col, justify in (
            ("layer", "left"),
            ("before → after", "left"),
            ("output C×H×W", "right"),
            ("params before → after", "right"),
            ("MACs before → after", "right"),
            ("theory (after / before)", "left"),
            ("theory", "right"),
            ("measured", "right"),
        ):
            table.add_column(col, justify=justify, no_wrap=True)  # type: ignore[arg-type]
        for r in self.replaced:
            kh, kw = r.before.kernel_size
            table.add_row(
                r.name or "(model)",
                f"{r.before.kind} {kh}x{kw} → {r.after.kind}",
                "-" if r.output_shape is None else "×".join(map(str, r.output_shape)),
                f"{fmt(r.params_before)} → {fmt(r.params_after)}",
                "-" if r.macs_before is None else f"{fmt(r.macs_before)} → {fmt(r.macs_after or 0)}",
                r.theory_formula,
                f"{float(r.theory):.4f}",
                "-" if r.macs_ratio is None else f"{float(r.macs_ratio):.4f}",
            )
        return table

    def _lines(self) -> Iterator[str]:
        """The text after the table: projections, skipped layers, totals, notes."""
        for r in self.replaced:
            a = r.projection
            if a is None:
                continue
            extra = a.get("error") or f"params {fmt(a['params'])}" + (
                f", MACs {fmt(a['macs'])}" if "macs" in a else ""
            )
            yield (
                f"  α={a['width_multiplier']}: {r.name} as {a['in_channels']}→{a['out_channels']} "
                f"channels: {extra}"
            )
        eligible = [s for s in self.skipped if s.eligible]
        if eligible:
            yield ""
            yield "skipped (eligible but not rewritable):"
            yield from (f"  {s.name}: {s.reason}" for s in eligible)
        others = len(self.skipped) - len(eligible)
        if others:
            yield ""
            yield f"left as they are: {others} convolution(s) not standard or 1×1"
        yield ""
        for label, before, after in (
            ("total params:", self.params_before, self.params_after),
            ("total MACs:  ", self.macs_before, self.macs_after),
        ):
            ratio = _ratio(after, before)
            yield f"{label} {fmt(before)} → {fmt(after)}" + ("" if ratio is None else f" (×{ratio:.4f})")
        yield f"output shape kept: {self.output_shape}"
        yield from (f"note: {n}" for n in self.notes)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[RenderableType]:
        """Render as a heading, the table of replaced layers, and the lines that follow it."""
        from rich.text import Text

        shape = "×".join(map(str, [1, *self.input_shape]))
        yield Text(f"what-if: {self.rewrite} on input {shape} (N×C×H×W)", style="bold")
        yield Text("")
        yield self.table() if self.replaced else Text("no convolution was replaced")
        for line in self._lines():
            yield Text(line)
