"""`convwise report TARGET -o report.html`: one self-contained HTML file explaining a model's cost."""

from __future__ import annotations

import argparse
from typing import Any

HELP = "Write a self-contained HTML report: sortable layer table, cost charts, what-if, training curves."
DESCRIPTION = (
    "Profile TARGET (a zoo name, path/to/file.py:factory, package.module:factory, or a training checkpoint "
    "or run folder) in eval mode (--train: training mode) and write one HTML "
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
    parser.add_argument(
        "--train", action="store_true", help="count in training mode (default: eval mode, inference costs)"
    )


def _run_model(run_dir: str) -> tuple[str, dict[str, Any]] | None:
    """(model name, builder config) a training run was made with: its checkpoint's, else results.json's."""
    import json
    from pathlib import Path

    from convwise.core import ConfigError
    from convwise.models import read_checkpoint

    try:
        spec = read_checkpoint(run_dir).get("model") or {}
        return str(spec.get("name")), dict(spec.get("config") or {})
    except ConfigError:
        pass
    for name in ("results.json", "config.json"):
        path = Path(run_dir) / name
        if path.is_file():
            model = json.loads(path.read_text(encoding="utf-8")).get("model")
            if isinstance(model, str):
                return model, {}
    return None


def run_mismatch(run_dir: str, target: str, loaded: Any) -> str | None:
    """Why the run at `run_dir` is of another model than TARGET (None: the same, or not recorded)."""
    found = _run_model(run_dir)
    if found is None:
        return None
    name, config = found
    names = {target, loaded.name, str(loaded.checkpoint) if loaded.checkpoint else target}
    if name not in names and name.rpartition(":")[2] != loaded.name:
        return f"the run trained {name!r}, the report is of {loaded.name!r}"
    differ = {
        k: (v, loaded.config[k]) for k, v in config.items() if k in loaded.config and loaded.config[k] != v
    }
    if differ:
        pairs = ", ".join(f"{k}={a!r} in the run, {b!r} here" for k, (a, b) in sorted(differ.items()))
        return f"the run's {name!r} was built with other settings ({pairs})"
    return None


def _check_whatif(kind: str) -> None:
    """A `--whatif` value the what-if rewriter accepts, checked before the model is built."""
    from convwise.core import ConfigError, config_error
    from convwise.models.whatif import parse_rewrite

    try:
        parse_rewrite(kind)
    except ConfigError:
        rule = "`--whatif` must be separable, grouped:G or grouped-separable:G (G a positive integer)."
        raise config_error(rule, whatif=kind) from None


def run(args: argparse.Namespace) -> int:
    """Build and write the report."""
    import sys

    from convwise.cli.common import load_target_args, print_json
    from convwise.viz.report import DEFAULT_WHATIF, write_report

    for kind in args.whatif or ():
        _check_whatif(kind)
    loaded, shape = load_target_args(args)
    model, name = loaded.model, loaded.name
    model.train(bool(args.train))  # counted in eval mode like `summary`, unless --train
    if args.run is not None:
        why = run_mismatch(args.run, args.target, loaded)
        if why:
            print(
                f"convwise: warning: --run {args.run} belongs to a different model: {why}; its curves are "
                "shown beside another model's counts.",
                file=sys.stderr,
            )
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
