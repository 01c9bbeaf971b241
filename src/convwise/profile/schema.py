"""The JSON Schema of the summary report, shipped in the package (`summary.schema.json`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def schema_path() -> Path:
    """Path of `summary.schema.json` inside the installed package."""
    return Path(__file__).with_name("summary.schema.json")


def load_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) every `Report.to_dict()` validates against."""
    schema: dict[str, Any] = json.loads(schema_path().read_text(encoding="utf-8"))
    return schema
