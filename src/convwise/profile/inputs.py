"""What the profiled forward is run on: one `TensorSpec` per forward argument, batched explicitly.

A shape is one sample's (no batch axis); the batch N is prepended, always: it is never read off a
shape, so an image model's (C, H, W) is one sample, not a batch of C. Generated inputs are random
normal for floating dtypes and zeros for integer and boolean ones (valid token ids for any
`nn.Embedding`, an all-false mask).

>>> import torch
>>> specs = input_specs([(3, 8, 8), TensorSpec((16,), torch.long)])
>>> [s.batched(2) for s in specs]
[(2, 3, 8, 8), (2, 16)]
>>> specs[1].dtype
torch.int64
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from convwise.core import config_error


@dataclass(frozen=True)
class TensorSpec:
    """One forward argument: the shape of one sample and its dtype (None: the profile's floating dtype)."""

    shape: tuple[int, ...]
    dtype: torch.dtype | None = None

    def batched(self, batch: int) -> tuple[int, ...]:
        """The shape with the batch axis N in front."""
        return (batch, *self.shape)

    def make(self, batch: int, *, dtype: torch.dtype, device: Any) -> torch.Tensor:
        """A tensor of this spec: empty on meta; random normal (floating) or zeros (integers, booleans)."""
        kind = self.dtype or dtype
        shape = self.batched(batch)
        if torch.device(device).type == "meta":
            return torch.empty(shape, dtype=kind, device="meta")
        if kind.is_floating_point or kind.is_complex:
            return torch.randn(shape, dtype=kind, device=device)
        return torch.zeros(shape, dtype=kind, device=device)


_RULE = "`input_size` must be a shape such as (3, 224, 224), a TensorSpec, or a list of them (one per input)."


def _is_shape(value: Any) -> bool:
    return isinstance(value, (tuple, list, torch.Size)) and all(
        isinstance(v, int) and not isinstance(v, bool) for v in value
    )


def input_specs(input_size: Any) -> list[TensorSpec]:
    """One `TensorSpec` per forward argument from a shape, a `TensorSpec`, or a list of them.

    Raises:
        ConfigError: anything else, or a size that is not a positive integer.
    """
    if isinstance(input_size, TensorSpec) or (_is_shape(input_size) and input_size):
        items = [input_size]
    elif isinstance(input_size, (tuple, list)) and input_size:
        items = list(input_size)
    else:
        raise config_error(_RULE, input_size=input_size)
    specs = []
    for item in items:
        spec = item if isinstance(item, TensorSpec) else TensorSpec(tuple(item)) if _is_shape(item) else None
        if spec is None or not spec.shape or not all(isinstance(v, int) and v >= 1 for v in spec.shape):
            raise config_error(_RULE, input_size=input_size)
        if spec.dtype is not None and not isinstance(spec.dtype, torch.dtype):
            raise config_error("A TensorSpec's `dtype` must be a torch.dtype.", dtype=spec.dtype)
        specs.append(TensorSpec(tuple(int(v) for v in spec.shape), spec.dtype))
    return specs
