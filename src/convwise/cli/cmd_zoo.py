"""`convwise zoo`: the registered models, their default input shape and configuration keys."""

from __future__ import annotations

import argparse
from typing import Any

HELP = "List the model zoo: names, input shapes, descriptions and configuration."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's arguments."""
    parser.add_argument("--json", action="store_true", help="print the list as JSON")


def run(args: argparse.Namespace) -> int:
    """Print the zoo."""
    import inspect

    from convwise.cli.common import print_json
    from convwise.models import list_models

    rows: list[dict[str, Any]] = []
    for entry in list_models():
        config = dict(entry.defaults)
        if not config:
            sig = inspect.signature(entry.builder)
            config = {
                n: p.default
                for n, p in sig.parameters.items()
                if p.default is not inspect.Parameter.empty and n not in ("device", "dtype")
            }
        rows.append(
            {
                "name": entry.name,
                "input_shape": list(entry.input_shape),
                "description": entry.description,
                "config": config,
            }
        )
    if args.json:
        print_json({"models": rows})
        return 0
    for row in rows:
        shape = "×".join(map(str, row["input_shape"]))
        print(f"{row['name']}  (input C×H×W {shape})")
        print(f"    {row['description']}")
        if row["config"]:
            cfg = ", ".join(f"{k}={v!r}" for k, v in row["config"].items())
            print(f"    config: {cfg}")
    return 0
