"""What to export or benchmark: a trained checkpoint file, or a TARGET built with fresh weights."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torch import nn

from convwise.core.errors import ConfigError, config_error


@dataclass
class Source:
    """A model ready for export or benchmarking.

    Attributes:
        model: the module, in eval mode.
        name: zoo name / factory name.
        input_shape: per-sample input shape (C, H, W), or None when unknown.
        checkpoint: the checkpoint path, or None for fresh weights.
        info: the checkpoint dict without weights (normalization, dataset, metrics ...), {} for fresh weights.
    """

    model: nn.Module
    name: str
    input_shape: tuple[int, ...] | None
    checkpoint: Path | None = None
    info: dict[str, Any] = field(default_factory=dict)


def _one_line(exc: ConfigError) -> ConfigError:
    text = re.sub(r"\s+", " ", str(exc)).strip()
    if len(text) > 400:
        text = text[:397] + "..."
    return ConfigError(text)


def load_source(source: str, *, input_shape: tuple[int, ...] | None = None, **config: Any) -> Source:
    """Resolve a checkpoint path or a TARGET to a model in eval mode.

    Args:
        source: a `convwise-checkpoint/1` file (.pt/.pth) or a run directory (its best.pt), or a
            TARGET (zoo name, `file.py:factory`, `package.module:factory`) built with fresh weights
            and `config`.
        input_shape: per-sample (C, H, W) overriding what the checkpoint or the zoo says.
        **config: builder options for a TARGET (ignored for a checkpoint, which records its own).

    Returns:
        The `Source`.

    Raises:
        ConfigError: missing or unreadable checkpoint, weights that do not fit the model the checkpoint
            names, unknown TARGET; always one line.
    """
    if not isinstance(source, str) or not source.strip():
        raise config_error("`source` must be a checkpoint path or a TARGET.", source=source)
    from convwise.models import resolve_target

    try:
        loaded = resolve_target(source, **config)  # the one TARGET resolution: checkpoints included
    except ConfigError as exc:
        raise _one_line(exc) from exc
    shape = input_shape or loaded.input_shape
    return Source(
        loaded.model.eval(), loaded.name, tuple(shape) if shape else None, loaded.checkpoint, loaded.info
    )


def require_input_shape(src: Source) -> tuple[int, ...]:
    """The source's per-sample input shape, or a one-line error asking for `--input`."""
    if src.input_shape is None:
        raise config_error(
            "The input shape of the model is unknown; pass `input` as CxHxW (e.g. --input 3x224x224).",
            model=src.name,
        )
    return src.input_shape
