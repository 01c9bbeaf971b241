"""The one tensor walker of the profiler: the tensors inside nested arguments and outputs.

>>> import torch
>>> a, b = torch.zeros(1), torch.zeros(2)
>>> [t.shape[0] for t in tensors_in((a, {"k": [b, 3]}))]
[1, 2]
>>> first_tensor([None, (b, a)]) is b
True
"""

from __future__ import annotations

from typing import Any

import torch


def tensors_in(value: Any) -> list[torch.Tensor]:
    """Every tensor in `value`, in order, looking inside lists, tuples and dict values."""
    found: list[torch.Tensor] = []

    def walk(v: Any) -> None:
        if isinstance(v, torch.Tensor):
            found.append(v)
        elif isinstance(v, (list, tuple)):
            for item in v:
                walk(item)
        elif isinstance(v, dict):
            for item in v.values():
                walk(item)

    walk(value)
    return found


def first_tensor(value: Any) -> torch.Tensor | None:
    """The first tensor in `value` (see `tensors_in`), or None."""
    if isinstance(value, torch.Tensor):
        return value
    found = tensors_in(value)
    return found[0] if found else None


def op_tensors(args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[torch.Tensor]:
    """The tensors among an op's arguments: top level and inside lists, as aten ops take them."""
    found: list[torch.Tensor] = []
    for a in (*args, *kwargs.values()) if kwargs else args:
        if isinstance(a, torch.Tensor):
            found.append(a)
        elif isinstance(a, (list, tuple)):
            found.extend(t for t in a if isinstance(t, torch.Tensor))
    return found
