"""Entry point of the `convwise` command: builds the parser from the command modules and dispatches.

Each command lives in its own module `convwise.cli.cmd_<name>` that defines `HELP` (one line),
`add_arguments(parser)` and `run(args) -> int`. Command modules import only the standard library at
module level (torch is imported inside `run`), so `convwise --help`, `convwise layer` and
`convwise compare` start without importing torch.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import NoReturn

from convwise import __version__

# Order is the order shown in `convwise --help`.
COMMANDS: tuple[str, ...] = (
    "layer",
    "compare",
    "summary",
    "whatif",
    "paper",
    "zoo",
    "train",
    "evaluate",
    "experiment",
    "export",
    "bench",
    "draw",
    "diagram",
    "report",
)


def _load(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(f"convwise.cli.cmd_{name}")
    except ModuleNotFoundError as exc:  # a command not built yet is simply absent
        if exc.name == f"convwise.cli.cmd_{name}":
            return None
        raise


class _Parser(argparse.ArgumentParser):
    """argparse with its errors on one line (`convwise CMD: error: … (see convwise CMD --help)`), exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {' '.join(message.split())} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with one sub-parser per available command."""
    parser = _Parser(
        prog="convwise",
        description="Efficient convolutions: every variant as a layer, and its exact cost, explained.",
    )
    parser.add_argument("--version", action="version", version=f"convwise {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        module = _load(name)
        if module is None:
            continue
        help_text = getattr(module, "HELP", None)
        p = sub.add_parser(name, help=help_text, description=getattr(module, "DESCRIPTION", help_text))
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit status (2 for bad input)."""
    from convwise.cli.common import report_error

    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "_run"):
        parser.print_help()
        return 2
    try:
        return int(args._run(args) or 0)
    except KeyboardInterrupt:
        print("convwise: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into e.g. `head`, which stopped reading: not an error
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except Exception as exc:  # user-facing errors become one line; bugs keep their traceback
        code = report_error(exc)
        if code is None:
            raise
        return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
