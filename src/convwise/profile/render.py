"""Rendering a profile `Report`: the column registry, and the table, CSV, Markdown and text renderers.

`Report`'s `table`, `to_csv`, `to_markdown`, `render` and `print` methods call these functions; the
numbers come from `Report.rows()` / `Report.totals` and are never recomputed here.
"""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING, Any

from convwise.core import config_error, fmt
from convwise.profile.node import COUNT_KEYS

if TYPE_CHECKING:
    from convwise.profile.report import Report


def field_text(row: dict[str, Any], *, long: bool = False) -> str:
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


def shape_text(shape: list[int] | None) -> str:
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


def cell(row: dict[str, Any], key: str, *, plain: bool) -> str:
    """The text of column `key` of a row: `plain` for CSV (exact digits), else as the table shows it."""
    key = _ALIASES.get(key, key)
    if key == "arithmetic_intensity":
        value = row.get(key)
        if value is None:
            return ""
        return repr(value) if plain else f"{value:,.2f}"
    if key == "layer":
        return f"{row['name']} ({row['type']})"
    if key == "rf":
        return field_text(row)
    if key == "rf_size":
        return field_text({**row, "jump": None, "receptive_field_note": None})
    if key in ("receptive_field", "jump"):
        pair = row.get(key)
        return "x".join(str(v) for v in pair) if pair else ""
    if key in ("input_shape", "output_shape"):
        shape = row[key]
        if plain:
            return "x".join(str(v) for v in shape) if shape else ""
        text = shape_text(shape)
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


def to_csv(report: Report, depth: int | None = None, columns: list[str] | None = None) -> str:
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
    for row in report.rows(depth):
        writer.writerow([cell(row, k, plain=True) for k in keys])
    total = {
        "name": "TOTAL",
        "type": "",
        "kind": None,
        "calls": 0,
        "input_shape": None,
        "output_shape": None,
    }
    total.update(report.totals)
    writer.writerow([cell(total, k, plain=True) for k in keys])
    return buf.getvalue()


def to_markdown(report: Report, depth: int | None = None, columns: list[str] | None = None) -> str:
    """A GitHub Markdown table of the rows with a bold totals row, then the totals lines."""
    keys = columns or report.default_columns()
    lines = ["| " + " | ".join(COLUMNS[k] for k in keys) + " |"]
    numeric = {
        k
        for k in keys
        if k not in ("layer", "name", "type", "kind", "input_shape", "output_shape", "status", "rf")
    }
    lines.append("|" + "|".join("---:" if k in numeric else "---" for k in keys) + "|")
    for row in report.rows(depth):
        lines.append("| " + " | ".join(cell(row, k, plain=False).replace("|", "\\|") for k in keys) + " |")
    total = {
        "name": "Total",
        "type": report.model_name,
        "calls": 0,
        "input_shape": None,
        "output_shape": None,
    }
    total.update(report.totals)
    cells = []
    for k in keys:
        text = cell(total, k, plain=False) if k not in ("layer", "input_shape", "output_shape", "rf") else ""
        cells.append(f"**{text}**" if text else "")
    cells[0] = "**Total**"
    lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines.extend(f"- {line}" for line in footer_lines(report))
    return "\n".join(lines) + "\n"


def footer_lines(report: Report) -> list[str]:
    """The Keras-like totals under the table."""
    t = report.totals
    width = report.param_bytes / max(sum(n.params for n in report.nodes.values()), 1) or 4

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
        + ("  [Keras view: includes BatchNorm moving mean/variance]" if report.keras else ""),
    ]
    if t["shared_params"]:
        lines.append(f"Shared parameters counted once: {fmt(t['shared_params'])} elements skipped")
    lines.append(f"Buffers: {fmt(t['buffers'])} elements (not parameters)")
    if report.ran:
        scope = (
            "for the inputs given"
            if report.batch is None
            else f"batch of {report.batch}"
            if report.batch != 1
            else "per sample"
        )
        lines.append(
            f"MACs: {fmt(t['macs'])} · FLOPs: {fmt(t['flops'])} · other ops: {fmt(t['other_ops'])} ({scope})"
        )
        shapes = ", ".join(shape_text(s) for s in report.input_shapes)
        where = (
            "run on the meta device (no activation memory)"
            if report.ran_on == "meta"
            else "counted from the model's graph (nothing run)"
            if report.ran_on == "file"
            else f"run on the real tensors on {report.ran_on}"
        )
        axes = "N, C, H, W" if all(len(x) == 4 for x in report.input_shapes) else "N first"
        lines.append(f"Input ({axes}): {shapes} · {where} · status: {report.status}")
        if report.fallback:
            lines.append(f"Fallback: {report.fallback}")
        if t["receptive_field"] is not None or t["receptive_field_note"]:
            lines.append(f"Receptive field of the output (H×W, padding included): {field_text(t, long=True)}")
        if t["uncounted_ops"]:
            ops = ", ".join(f"{k} ×{v}" for k, v in t["uncounted_ops"].items())
            lines.append(f"No formula (not counted, marked +?): {ops}")
    else:
        lines.append("MACs / FLOPs: unavailable (no input shape given) · status: unavailable")
    lines.extend(report.notes)
    return lines


def table(report: Report, depth: int | None = None, columns: list[str] | None = None) -> Any:
    """A `rich.table.Table` reading like Keras' `model.summary()`."""
    from rich import box
    from rich.table import Table

    keys = columns or report.default_columns()
    out = Table(
        title=f'Model: "{report.model_name}"',
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
        out.add_column(_HEADERS[k], justify="right" if k in numeric else "left", no_wrap=k != "layer")
    for row in report.rows(depth):
        out.add_row(*(cell(row, k, plain=False) for k in keys))
    return out


def natural_width(report: Report, depth: int | None, keys: list[str]) -> int:
    """Characters the widest line of the table with columns `keys` takes when nothing wraps."""
    from rich.console import Console

    buf = io.StringIO()
    Console(file=buf, width=10_000, color_system=None, soft_wrap=False).print(table(report, depth, keys))
    return max((len(line.rstrip()) for line in buf.getvalue().splitlines()), default=0)


def fitted_columns(report: Report, depth: int | None = None, width: int = 120) -> list[str]:
    """The default table columns for a `width`-character screen.

    `DEFAULT_COLUMNS` plus the receptive field: as `rf` ('15×15 (4×4)', with the jump) when it fits,
    else the field alone ('15×15'), else not at all (it stays in the JSON/CSV and the totals line).
    """
    keys = report.default_columns()
    if "rf" not in keys:
        return keys
    for variant in ("rf", "rf_size"):
        candidate = [variant if k == "rf" else k for k in keys]
        if natural_width(report, depth, candidate) <= width:
            return candidate
    return list(DEFAULT_COLUMNS)


def render(
    report: Report, depth: int | None = None, columns: list[str] | None = None, width: int = 120
) -> str:
    """The table and the totals as plain text (what `print(report)` shows)."""
    from rich.console import Console

    buf = io.StringIO()
    console = Console(file=buf, width=width, color_system=None, highlight=False, soft_wrap=False)
    console.print(table(report, depth, columns or fitted_columns(report, depth, width)))
    for line in footer_lines(report):
        console.print(" " + line, highlight=False, markup=False, soft_wrap=True)
    return "\n".join(line.rstrip() for line in buf.getvalue().splitlines()) + "\n"


def print_report(report: Report, depth: int | None = None, columns: list[str] | None = None) -> None:
    """Print the table and totals to the terminal (with colour when it supports it)."""
    from rich.console import Console

    console = Console(highlight=False)
    if not console.is_terminal:  # plain text, without rich's padding
        print(render(report, depth, columns, width=max(console.width, 160)), end="")
        return
    console.print(table(report, depth, columns or fitted_columns(report, depth, console.width)))
    for line in footer_lines(report):
        console.print(" " + line, markup=False, soft_wrap=True)
