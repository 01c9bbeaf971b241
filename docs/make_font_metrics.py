"""Regenerate src/convwise/viz/font_metrics.json: the DejaVu advance widths the drawings are laid out with.

Run from the repository root:  python docs/make_font_metrics.py   (needs the `viz` extra: matplotlib)
"""

from __future__ import annotations

import json
from pathlib import Path

from convwise.fileio import atomic_write_text
from convwise.viz.fonts import measure

TARGET = Path(__file__).resolve().parents[1] / "src" / "convwise" / "viz" / "font_metrics.json"

if __name__ == "__main__":
    atomic_write_text(json.dumps(measure(), ensure_ascii=False, indent=1, sort_keys=True) + "\n", TARGET)
    print(f"wrote {TARGET}")
