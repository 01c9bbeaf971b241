"""`convwise evaluate`: re-score a training checkpoint on a data split (test by default)."""

from __future__ import annotations

import argparse

from convwise.cli.common import print_json

HELP = "Re-score a checkpoint (best.pt or a run directory) on the test, validation or training split."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's flags."""
    parser.add_argument(
        "checkpoint", metavar="CHECKPOINT", help="a convwise checkpoint file or run directory"
    )
    parser.add_argument("--dataset", help="data set to score on (default: the checkpoint's)")
    parser.add_argument("--data-dir", help="folder holding the IDX files (overrides the lookup)")
    parser.add_argument("--no-download", action="store_true", help="never download the data set")
    parser.add_argument(
        "--split",
        default="test",
        choices=("test", "val", "train"),
        help="which split (default: %(default)s; val = the first 5,000 training images)",
    )
    parser.add_argument(
        "--val-size",
        type=int,
        default=None,
        help="validation size used in training (default: the checkpoint's recipe, else 5000)",
    )
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--json", action="store_true", help="print the scores as JSON")


def run(args: argparse.Namespace) -> int:
    """Load the checkpoint, normalise the split with the stored statistics, print the scores."""
    from convwise.cli.cmd_train import choose_openmp_wait

    choose_openmp_wait()
    from rich.console import Console

    from convwise.data import Normalization, load_raw
    from convwise.train.checkpoint import load_checkpoint
    from convwise.train.console import print_test_report
    from convwise.train.evaluate import score

    model, info = load_checkpoint(args.checkpoint)
    dataset = args.dataset or info["dataset"]
    raw = load_raw(dataset, args.data_dir, download=False if args.no_download else None)
    recipe = info.get("recipe") or {}
    val_size = args.val_size if args.val_size is not None else int(recipe.get("val_size", 5000))
    if args.split == "test":
        images, labels = raw.test_images, raw.test_labels
    elif args.split == "val":
        images, labels = raw.train_images[:val_size], raw.train_labels[:val_size]
    else:
        images, labels = raw.train_images[val_size:], raw.train_labels[val_size:]
    norm = Normalization(mean=float(info["normalization"]["mean"]), std=float(info["normalization"]["std"]))
    scores = score(
        model, norm.apply(images), labels, num_classes=len(raw.spec.classes), batch_size=args.batch_size
    )
    result = {
        "checkpoint": str(args.checkpoint),
        "model": info["model"],
        "dataset": raw.spec.name,
        "split": args.split,
        "epoch": info.get("epoch"),
        f"{args.split}_accuracy": scores.accuracy,
        f"{args.split}_loss": scores.loss,
        **scores.as_dict(raw.spec.classes),
    }
    if args.json:
        print_json(result)
        return 0
    console = Console()
    print_test_report({"test": result}, console)
    console.print(
        f"[bold]{args.split} accuracy {scores.accuracy:.2%}[/bold]  loss {scores.loss:.4f}  "
        f"({scores.count:,} images of {raw.spec.name}, checkpoint epoch {info.get('epoch')})"
    )
    return 0
