"""Helpers shared by the command modules: error reporting, JSON output, input-shape parsing."""

from __future__ import annotations

import json
import sys
from typing import Any

from convwise.core.errors import ConvwiseError


def report_error(exc: BaseException) -> int | None:
    """Print a user-facing error as one line on stderr and return the exit status, or None for a bug."""
    if isinstance(exc, ConvwiseError):
        print(f"convwise: error: {exc}", file=sys.stderr)
        return 2
    if isinstance(exc, FileNotFoundError):
        print(f"convwise: error: file not found: {exc.filename or exc}", file=sys.stderr)
        return 2
    return None


def print_json(payload: Any) -> None:
    """Print `payload` as indented JSON (integers stay exact)."""
    json.dump(payload, sys.stdout, indent=2, sort_keys=False, ensure_ascii=False)
    sys.stdout.write("\n")
