"""`convwise experiment`: accuracy vs MACs/params of the seed CNN with each convolution variant and width."""

from __future__ import annotations

import argparse

from convwise.cli.common import print_json

HELP = (
    "Train the seed CNN with standard/separable/grouped/grouped-separable convs (alpha 1, 0.5); table + plot."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's flags."""
    parser.add_argument(
        "-o", "--output", default="runs/experiment", help="output folder (default: %(default)s)"
    )
    parser.add_argument(
        "--variants",
        nargs="+",
        default=None,
        choices=("standard", "separable", "grouped", "grouped-separable"),
    )
    parser.add_argument("--alphas", nargs="+", type=float, default=None, help="width multipliers (1.0 0.5)")
    parser.add_argument("--groups", type=int, default=2, help="groups of the grouped variants")
    parser.add_argument("--recipe", default="default", choices=("default", "seed"))
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--train-subset", type=int, metavar="N")
    parser.add_argument("--test-subset", type=int, metavar="N")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--threads", type=int)
    parser.add_argument("--data-dir")
    parser.add_argument("--no-download", action="store_true")
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("--json", action="store_true")


def run(args: argparse.Namespace) -> int:
    """Run (or continue) the experiment and print the Markdown table."""
    from convwise.cli.cmd_train import choose_openmp_wait

    choose_openmp_wait()
    import dataclasses

    from rich.console import Console

    from convwise.train.experiment import ALPHAS, VARIANTS, markdown_table, run_experiment
    from convwise.train.recipes import get_recipe

    base = get_recipe(args.recipe)
    overrides = {
        k: getattr(args, k)
        for k in ("epochs", "batch_size", "train_subset", "test_subset", "seed", "threads")
        if getattr(args, k) is not None
    }
    base = dataclasses.replace(base, **overrides)
    console = Console(stderr=True) if args.json else Console()
    rows = run_experiment(
        base,
        args.output,
        variants=tuple(args.variants or VARIANTS),
        alphas=tuple(args.alphas or ALPHAS),
        groups=args.groups,
        data_dir=args.data_dir,
        download=False if args.no_download else None,
        console=console,
        progress=not args.no_progress,
    )
    if args.json:
        print_json(rows)
    else:
        console.print(markdown_table(rows, base), markup=False, soft_wrap=True)
        console.print(f"Wrote {args.output}/experiment.md, experiment.json, experiment.png")
    return 0
