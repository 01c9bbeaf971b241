"""`convwise report TARGET -o report.html`: one self-contained HTML file explaining a model's cost."""

from __future__ import annotations

import argparse

HELP = "Write a self-contained HTML report: sortable layer table, cost charts, what-if, training curves."
DESCRIPTION = (
    "Profile TARGET (a zoo name, path/to/file.py:factory or package.module:factory) and write one HTML "
    "file that needs no network: the per-layer summary table (sortable; click a layer for the derivation "
    "of its numbers), MACs and parameters by layer and by layer type, the what-if comparison with the "
    "convolutions made separable / grouped, and with --run RUN_DIR the learning curves and confusion "
    "matrix of a training run."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's arguments."""
    from convwise.cli.common import add_target_arguments

    add_target_arguments(parser)
    parser.add_argument("--run", metavar="RUN_DIR", help="training run directory (metrics.csv, results.json)")
    parser.add_argument(
        "--whatif",
        metavar="KIND",
        action="append",
        help="rewrite to compare (repeatable): separable, grouped:G, grouped-separable:G "
        "(default: separable, grouped:2, grouped-separable:2)",
    )
    parser.add_argument(
        "--no-figures", action="store_true", help="leave out the picture of each conv layer (smaller file)"
    )
    parser.add_argument("--no-graph", action="store_true", help="leave out the layer graph")
    parser.add_argument(
        "-o", "--output", metavar="PATH", help="the HTML file to write (default: NAME-report.html)"
    )
    parser.add_argument("--json", action="store_true", help="also print the report's data as JSON")


def run(args: argparse.Namespace) -> int:
    """Build and write the report."""
    from convwise.cli.cmd_diagram import load
    from convwise.cli.common import print_json
    from convwise.viz.report import DEFAULT_WHATIF, write_report

    model, name, shape = load(args)
    path = args.output or f"{name}-report.html"
    data = write_report(
        model,
        shape,
        path,
        name=name,
        run_dir=args.run,
        whatif=tuple(args.whatif or DEFAULT_WHATIF),
        figures=not args.no_figures,
        graph=not args.no_graph,
    )
    if args.json:
        print_json({"file": str(path), **data})
    else:
        t = data["summary"]["totals"]
        print(
            f"wrote {path}: {len(data['summary']['layers'])} layers, {t['params']:,} params, "
            f"{t['macs']:,} MACs"
        )
    return 0
