"""`convwise paper NAME`: a paper's published cost tables beside our exact counts, with the differences."""

from __future__ import annotations

import argparse
from typing import Any

HELP = "Reproduce published cost tables (mobilenet, mobilenetv2, ds-cnn): ours beside the paper's."
DESCRIPTION = (
    "Print the published cost tables of a paper next to convwise's exact counts of the same models, "
    "with the difference and whether ours rounds to the published figure. mobilenet: Tables 4, 6, 7, 2 "
    "and 3 of Howard et al. 2017 (million Mult-Adds and parameters). mobilenetv2: the published TF-slim "
    "checkpoints (Sandler et al. 2018). ds-cnn: memory and operations of "
    "DS-CNN S/M/L from Hello Edge (Zhang et al. 2017)."
)
PAPERS = ("mobilenet", "mobilenetv2", "ds-cnn")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's arguments."""
    parser.add_argument("paper", metavar="PAPER", choices=PAPERS, help="mobilenet, mobilenetv2 or ds-cnn")
    parser.add_argument("--table", metavar="KEY", help="only this table (e.g. table6, table2, ds-cnn)")
    parser.add_argument("--json", action="store_true", help="print the tables as JSON (exact integers)")


def _num(value: float, decimals: int) -> str:
    return f"{value:,.{decimals}f}"


def format_table(table: Any) -> str:
    """Plain-text rendering of a reproduced `Table`."""
    headers = ["", *[f"{c.name} ({c.unit})" for c in table.rows[0].cells]]
    lines: list[list[str]] = []
    for row in table.rows:
        cells = [row.label]
        for c in row.cells:
            if c.published is None:
                cells.append(_num(float(c.scaled), 2))
                continue
            d = c.published.decimals
            shown = d + 3 if d == 0 else d + 2
            diff = c.difference or 0.0
            mark = "ok" if c.matches else "DIFF"
            cells.append(
                f"{_num(float(c.scaled), shown)} vs {_num(c.published.value, d)} ({diff:+.{shown}f}) {mark}"
            )
        lines.append(cells)
    widths = [max(len(r[i]) for r in [headers, *lines]) for i in range(len(headers))]
    out = [table.title, f"source: {table.source}", ""]
    out.append("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    out.append("  ".join("-" * w for w in widths))
    out += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in lines]
    out.append("")
    out += [f"note: {n}" for n in table.notes]
    return "\n".join(out)


def run(args: argparse.Namespace) -> int:
    """Print the tables; exit 0 (differences are reported, not errors)."""
    from convwise.cli.common import print_json
    from convwise.models.papers import paper_tables

    tables = paper_tables(args.paper, args.table)
    if args.json:
        print_json({"paper": args.paper, "tables": [t.to_dict() for t in tables]})
        return 0
    print(
        "ours vs published (ours − published); 'ok' = ours rounds to the published figure. "
        "Counts: convwise.core per conv, in·out per fully connected layer.\n"
    )
    print("\n\n".join(format_table(t) for t in tables))
    return 0
