"""Startup of `convwise layer …` next to `python -c "import torch"`: wall times, medians and their ratio.

The two commands are timed interleaved (A, B, A, B …) so that load on a shared machine hits both alike.
Goal: `convwise layer` takes at most 1/5 of `import torch` (it answers from `convwise.core` alone).

Usage: python bench/cli_startup.py [--runs 7] [--json]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

GOAL = 1 / 5


def _convwise() -> list[str]:
    exe = shutil.which("convwise") or str(Path(sys.executable).with_name("convwise"))
    return [exe] if Path(exe).exists() else [sys.executable, "-m", "convwise"]


COMMANDS: dict[str, list[str]] = {
    "convwise layer separable --input 4x5x5 --out 10 --kernel 3 --explain": [
        *_convwise(),
        *["layer", "separable", "--input", "4x5x5", "--out", "10", "--kernel", "3", "--explain"],
    ],
    'python -c "import convwise.core"': [sys.executable, "-c", "import convwise.core"],
    'python -c "import torch"': [sys.executable, "-c", "import torch"],
    'python -c "pass"': [sys.executable, "-c", "pass"],
}


def time_once(cmd: list[str]) -> float:
    """Wall seconds of one run (output discarded); raises if the command fails."""
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="timed runs per command (default: 7)")
    parser.add_argument("--json", action="store_true", help="print the medians as JSON")
    args = parser.parse_args(argv)
    for cmd in COMMANDS.values():  # warm the file cache once, untimed
        time_once(cmd)
    samples: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(args.runs):
        for name, cmd in COMMANDS.items():
            samples[name].append(time_once(cmd))
    medians = {name: statistics.median(values) for name, values in samples.items()}
    torch_s = medians['python -c "import torch"']
    layer_s = medians["convwise layer separable --input 4x5x5 --out 10 --kernel 3 --explain"]
    ratio = layer_s / torch_s
    if args.json:
        print(
            json.dumps({"runs": args.runs, "median_seconds": medians, "ratio": ratio, "goal": GOAL}, indent=2)
        )
        return 0
    width = max(map(len, COMMANDS))
    print(f"{'command':<{width}}  {'median s':>9}  {'min s':>7}  {'max s':>7}  {'× import torch':>14}")
    for name in COMMANDS:
        values = samples[name]
        print(
            f"{name:<{width}}  {medians[name]:>9.3f}  {min(values):>7.3f}  {max(values):>7.3f}  "
            f"{medians[name] / torch_s:>14.3f}"
        )
    verdict = "met" if ratio <= GOAL else "NOT met"
    print(f"\nconvwise layer / import torch = {ratio:.3f} (1/{1 / ratio:.1f}); goal ≤ 1/5: {verdict}")
    print(f"{args.runs} interleaved runs each, medians; machine load affects both sides alike.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
