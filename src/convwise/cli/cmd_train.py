"""`convwise train`: train a zoo model (default: the seed's Fashion-MNIST separable CNN) with a recipe."""

from __future__ import annotations

import argparse
import sys

from convwise.cli.common import print_json

HELP = (
    "Train a model on Fashion-MNIST / MNIST (seed recipe or the improved default), with resume and torchrun."
)
DESCRIPTION = (
    "Train MODEL (a zoo name, path/file.py:factory or package.module:factory; default fashion_separable_cnn) "
    "with a recipe (--recipe seed reproduces the seed's Keras run; default adds a cosine learning-rate decay "
    "and random horizontal flips). Flags override single parts of the recipe. Everything goes into one run "
    "directory: best.pt (checkpoint), last.pt (resume state), config.json, metrics.csv, curves.png, "
    "confusion.png, results.json and tensorboard/. Runs data-parallel under torchrun "
    "(e.g. torchrun --nproc-per-node 2 -m convwise train)."
)

# flag -> TrainConfig field, for the recipe overrides
_OVERRIDES = (
    "dataset",
    "epochs",
    "batch_size",
    "lr",
    "adam_eps",
    "weight_decay",
    "schedule",
    "warmup_epochs",
    "flip",
    "label_smoothing",
    "val_size",
    "patience",
    "min_delta",
    "seed",
    "train_subset",
    "test_subset",
    "channels_last",
    "threads",
    "precision",
    "compile",
    "init",
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's flags."""
    parser.add_argument(
        "model",
        nargs="?",
        default=None,
        metavar="MODEL",
        help="zoo name or path/file.py:factory / package.module:factory (default: fashion_separable_cnn)",
    )
    parser.add_argument(
        "--recipe",
        default="default",
        choices=("default", "seed"),
        help="starting recipe (default: %(default)s)",
    )
    parser.add_argument(
        "--config",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="model factory argument, e.g. --config activation=relu (repeatable)",
    )
    parser.add_argument("--dataset", help="fashion-mnist (default) or mnist")
    parser.add_argument("--data-dir", help="folder holding the IDX files (overrides the lookup)")
    parser.add_argument("--no-download", action="store_true", help="never download the data set")
    g = parser.add_argument_group("recipe overrides")
    g.add_argument("--epochs", type=int)
    g.add_argument("--batch-size", type=int, help="global batch size (split across torchrun processes)")
    g.add_argument("--lr", type=float, help="Adam learning rate")
    g.add_argument("--adam-eps", type=float)
    g.add_argument("--weight-decay", type=float, help="decoupled weight decay (AdamW) when > 0")
    g.add_argument("--schedule", choices=("constant", "cosine"))
    g.add_argument("--warmup-epochs", type=float)
    g.add_argument(
        "--flip", action=argparse.BooleanOptionalAction, default=None, help="random horizontal flips"
    )
    g.add_argument("--label-smoothing", type=float)
    g.add_argument("--val-size", type=int, help="leading training images held out for validation")
    g.add_argument("--patience", type=int, help="early-stopping patience in epochs (0: off)")
    g.add_argument("--min-delta", type=float)
    g.add_argument("--seed", type=int)
    g.add_argument("--train-subset", type=int, metavar="N", help="train on the first N images only")
    g.add_argument("--test-subset", type=int, metavar="N", help="test on the first N images only")
    g.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=None)
    g.add_argument("--threads", type=int, help="threads per process (0: CPUs / processes)")
    g.add_argument(
        "--precision",
        choices=("fp32", "bf16"),
        help="bf16: autocast to bfloat16 (CPUs with AVX-512 BF16 / AMX only; default fp32)",
    )
    g.add_argument(
        "--compile",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="compile the training step with Inductor (needs a C++ compiler; default off)",
    )
    g.add_argument(
        "--init",
        choices=("torch", "keras"),
        help="weight initialisation (seed recipe: keras, default: torch)",
    )
    o = parser.add_argument_group("outputs")
    o.add_argument("--run-dir", help="output folder (default: a new folder under runs/)")
    o.add_argument("--resume", metavar="RUN_DIR", help="continue a run from its last completed epoch")
    o.add_argument(
        "--track-test", action="store_true", help="also score the test set after each epoch (monitoring only)"
    )
    o.add_argument("--no-progress", action="store_true", help="no progress bars")
    o.add_argument("--no-tensorboard", action="store_true")
    o.add_argument("--no-plots", action="store_true")
    o.add_argument("--json", action="store_true", help="human output to stderr, one JSON object to stdout")


def wait_policy(cpus: int, threads: int, busy: float) -> str:
    """The OpenMP wait policy for `threads` threads in total on `cpus` CPUs of which `busy` are in use.

    "ACTIVE" (idle threads spin, ready for the next short op) when the threads fit beside the busy CPUs;
    "PASSIVE" (idle threads sleep at once) when they do not, where spinning threads of several processes
    starve each other. Measured on a 2-core machine (docs/training.md, "Speed on a CPU"): quiet, spinning
    trained 1.1-1.4x faster than PASSIVE; beside other busy processes, spinning was up to ~10x slower.

    >>> wait_policy(cpus=2, threads=2, busy=0.2), wait_policy(cpus=2, threads=2, busy=0.8)
    ('ACTIVE', 'PASSIVE')
    """
    return "PASSIVE" if busy + threads > cpus + 0.5 else "ACTIVE"


def busy_cpus(interval: float = 0.25) -> float:
    """How many CPUs other processes keep busy right now: /proc/stat sampled `interval` s apart (Linux).

    Elsewhere the 1-minute load average (0 where there is none).

    >>> 0.0 <= busy_cpus(0.05)
    True
    """
    import os
    import time

    def sample() -> tuple[int, int]:
        with open("/proc/stat") as f:
            values = [int(v) for v in f.readline().split()[1:]]
        idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
        return sum(values[:8]), idle  # user nice system idle iowait irq softirq steal

    try:
        total0, idle0 = sample()
        time.sleep(interval)
        total1, idle1 = sample()
    except (OSError, ValueError, IndexError):
        try:
            return os.getloadavg()[0]
        except OSError:
            return 0.0
    cpus = os.cpu_count() or 1
    elapsed = max(1, total1 - total0)
    return cpus * (1.0 - (idle1 - idle0) / elapsed)


def openmp_wait_here(threads: int | None = None) -> str:
    """`wait_policy` for this machine now: its CPUs, `threads` per local process (default: CPUs / local
    processes, as the trainer sets), torchrun's LOCAL_WORLD_SIZE processes, and `busy_cpus()`."""
    import os

    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    local = max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1") or 1))
    per_process = threads or max(1, cpus // local)
    return wait_policy(cpus, per_process * local, busy_cpus())


def choose_openmp_wait(threads: int | None = None) -> None:
    """Set OMP_WAIT_POLICY to `openmp_wait_here(threads)` before torch is imported.

    An explicit OMP_WAIT_POLICY in the environment is respected; once torch is imported it is too late
    (OpenMP reads it at start-up) and nothing is changed.
    """
    import os

    if "torch" not in sys.modules and "OMP_WAIT_POLICY" not in os.environ:
        os.environ["OMP_WAIT_POLICY"] = openmp_wait_here(threads)


def _sigterm_as_interrupt() -> object:
    """Let SIGTERM (e.g. from a batch scheduler) stop the run like Ctrl-C; returns the previous handler."""
    import signal

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    try:
        return signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread (embedded use): keep the default
        return None


def run(args: argparse.Namespace) -> int:
    """Train, then print the test report (or the JSON results)."""
    choose_openmp_wait(getattr(args, "threads", None))
    import dataclasses

    from convwise.deploy.optimized import tune_allocator

    tune_allocator()  # a training process keeps its activations' memory (docs/training.md, "Speed on a CPU")

    from rich.console import Console

    from convwise.cli.common import parse_config
    from convwise.train.loop import train
    from convwise.train.recipes import get_recipe
    from convwise.train.rundir import list_run_dir
    from convwise.train.state import TrainingInterrupted

    config = get_recipe(args.recipe)
    if args.model:
        config.model = args.model
    config.model_config.update(parse_config(args.config))
    overrides = {k: getattr(args, k) for k in _OVERRIDES if getattr(args, k, None) is not None}
    config = dataclasses.replace(config, **overrides)
    if overrides or args.model or args.config:
        config.recipe = f"{args.recipe}+custom" if args.recipe else "custom"
    console = Console(stderr=True) if args.json else Console()
    previous = _sigterm_as_interrupt()
    try:
        results = train(
            config,
            run_dir=args.run_dir,
            resume=args.resume,
            data_dir=args.data_dir,
            download=False if args.no_download else None,
            console=console,
            progress=not args.no_progress,
            tensorboard=not args.no_tensorboard,
            plots=not args.no_plots,
            track_test=args.track_test,
        )
    except TrainingInterrupted as exc:
        print(f"convwise: {exc}", file=sys.stderr)
        return 130
    finally:
        if previous is not None:
            import signal

            signal.signal(signal.SIGTERM, previous)  # type: ignore[arg-type]
    from convwise.train.distributed import init_distributed, shutdown_distributed

    ctx = init_distributed()
    ctx.barrier()  # every rank done (rank 0 has written results and plots) before the group is torn down
    shutdown_distributed(ctx)
    if not ctx.is_main:
        return 0
    if args.json:
        summary = {k: v for k, v in results.items() if k != "test"}
        summary["per_class_accuracy"] = results["test"]["per_class_accuracy"]
        summary["confusion_matrix"] = results["test"]["confusion_matrix"]
        summary["files"] = list_run_dir(results["run_dir"])
        print_json(summary)
    else:
        console.print(f"Files in {results['run_dir']}: {', '.join(list_run_dir(results['run_dir']))}")
    return 0
