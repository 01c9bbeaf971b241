"""A reproduced table: our exact figures beside the published ones, compared at the paper's precision.

`Cell` holds one exact value and the published figure it is compared with; `Row` and `Table` group them
with the paper's labels and notes. A rich console prints a `Table` (and `Tables`, several with one legend)
as the published table with ours, the published figure, the difference and `ok` / `DIFF` per cell.

>>> cell = Cell("Mult-Adds", 568_740_352, MILLION, Published(569, 0))
>>> float(cell.scaled), cell.matches, cell.shown()
(568.740352, True, ('568.740', '569', '-0.260', 'ok'))
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - typing only
    from rich.console import Console, ConsoleOptions, RenderableType

MILLION = 1_000_000

#: What the columns mean, printed once above the tables.
LEGEND = (
    "ours vs published (ours − published); 'ok' = ours rounds to the published figure. "
    "Counts: convwise.core per conv, in·out per fully connected layer."
)


@dataclass(frozen=True)
class Published:
    """One published figure: its value as printed and the number of decimals it is printed with."""

    value: float
    decimals: int

    @classmethod
    def of(cls, value: float) -> Published:
        """The figure as printed: its decimals are those of its shortest form (4.2 → 1, 569 → 0).

        >>> Published.of(4.2), Published.of(569)
        (Published(value=4.2, decimals=1), Published(value=569, decimals=0))
        """
        text = repr(float(value)).rstrip("0").rstrip(".")
        return cls(value, len(text.split(".")[1]) if "." in text else 0)

    def close(self, ours: Fraction | int) -> bool:
        """True when `ours` rounds to the printed value (within half a unit of its last digit)."""
        return abs(Fraction(ours) - Fraction(str(self.value))) <= Fraction(1, 2 * 10**self.decimals)


@dataclass(frozen=True)
class Cell:
    """Our exact value, its scaled form (e.g. millions), and the published figure (if any)."""

    name: str
    exact: int | Fraction
    scale: int
    published: Published | None = None
    unit: str = "M"

    @property
    def scaled(self) -> Fraction:
        """Exact value / scale (e.g. millions)."""
        return Fraction(self.exact) / self.scale

    @property
    def difference(self) -> float | None:
        """Ours (scaled) − published."""
        return None if self.published is None else float(self.scaled - Fraction(str(self.published.value)))

    @property
    def matches(self) -> bool | None:
        """Whether ours rounds to the published figure."""
        return None if self.published is None else self.published.close(self.scaled)

    def shown(self) -> tuple[str, str, str, str]:
        """(ours, published, difference, verdict) as printed: ours two decimals finer than the paper."""
        if self.published is None:
            return (f"{float(self.scaled):,.2f}", "", "", "")
        d = self.published.decimals
        finer = d + 3 if d == 0 else d + 2
        return (
            f"{float(self.scaled):,.{finer}f}",
            f"{self.published.value:,.{d}f}",
            f"{self.difference or 0.0:+.{finer}f}",
            "ok" if self.matches else "DIFF",
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON form (exact value kept as an int when it is one)."""
        exact: Any = int(self.exact) if Fraction(self.exact).denominator == 1 else float(self.exact)
        return {
            "name": self.name,
            "ours": exact,
            "ours_scaled": float(self.scaled),
            "unit": self.unit,
            "published": None if self.published is None else self.published.value,
            "difference": self.difference,
            "matches": self.matches,
        }


@dataclass(frozen=True)
class Row:
    """One row of a reproduced table."""

    label: str
    cells: tuple[Cell, ...]
    config: dict[str, Any] = field(default_factory=dict)
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "label": self.label,
            "config": self.config,
            "note": self.note,
            "cells": [c.to_dict() for c in self.cells],
        }


@dataclass(frozen=True)
class Table:
    """A reproduced table: title, source, convention notes and rows."""

    key: str
    title: str
    source: str
    rows: tuple[Row, ...]
    notes: tuple[str, ...] = ()

    @property
    def all_match(self) -> bool:
        """True when every published figure is reproduced within its rounding."""
        return all(c.matches is not False for r in self.rows for c in r.cells)

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "key": self.key,
            "title": self.title,
            "source": self.source,
            "notes": list(self.notes),
            "all_match": self.all_match,
            "rows": [r.to_dict() for r in self.rows],
        }

    def table(self) -> Any:
        """The rows as a rich `Table`: per published quantity, ours, the paper's figure, Δ and ok / DIFF."""
        from rich.table import Table as RichTable

        table = RichTable(show_header=True, header_style="bold", box=None, pad_edge=False)
        table.add_column("")
        published = [c.published is not None for c in self.rows[0].cells]
        for cell, has in zip(self.rows[0].cells, published, strict=True):
            table.add_column(f"{cell.name} ({cell.unit})", justify="right")
            if has:
                table.add_column("paper", justify="right")
                table.add_column("Δ", justify="right")
                table.add_column("ok?", justify="right")
        for row in self.rows:
            values = [row.label]
            for cell, has in zip(row.cells, published, strict=True):
                shown = cell.shown()
                values += list(shown) if has else [shown[0]]
            table.add_row(*values)
        return table

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[RenderableType]:
        """Render as the title, the source, the table and its notes."""
        from rich.text import Text

        yield Text(self.title, style="bold")
        yield Text(f"source: {self.source}")
        yield Text("")
        yield self.table()
        yield Text("")
        for note in self.notes:
            yield Text(f"note: {note}")


@dataclass(frozen=True)
class Tables:
    """The reproduced tables of one paper, printed under one legend."""

    paper: str
    tables: tuple[Table, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"paper": self.paper, "tables": [t.to_dict() for t in self.tables]}

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[RenderableType]:
        """Render the legend, then every table, a blank line between them."""
        from rich.text import Text

        yield Text(LEGEND)
        for i, table in enumerate(self.tables):
            yield Text("")
            if i:
                yield Text("")
            yield table
