"""`convwise paper NAME`: a paper's published cost tables beside our exact counts, with the differences."""

from __future__ import annotations

import argparse

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


def run(args: argparse.Namespace) -> int:
    """Print the tables; exit 0 (differences are reported, not errors)."""
    from convwise.cli.common import print_json
    from convwise.models.papers import paper_tables
    from convwise.views import console

    tables = paper_tables(args.paper, args.table)
    if args.json:
        print_json(tables.to_dict())
        return 0
    console().print(tables, soft_wrap=True)
    return 0
