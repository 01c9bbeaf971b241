"""Receptive field and jump (effective stride) of a chain of layers, on both axes.

Along a chain: ``r ← r + d·(k − 1)·j`` and ``j ← j·s``, starting at r = 1, j = 1 (docs/cost-model.md).
For stride 1 everywhere this is ``1 + Σ dᵢ·(kᵢ − 1)``.

>>> from convwise.core.receptive import Window, receptive_field
>>> three = [Window((3, 3)), Window((3, 3)), Window((3, 3), stride=(2, 2))]
>>> field = receptive_field([*three, Window((3, 3), dilation=(2, 2))])
>>> field.size, field.jump  # 1 + 2 + 2 + 2, then + 2·(3 − 1)·2 after the stride
((15, 15), (2, 2))
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from convwise.core.explain import Explanation
from convwise.core.spec import Conv2dSpec, LayerSpec
from convwise.core.validate import Pair, pair


@dataclass(frozen=True)
class Window:
    """A sliding-window op (conv or pool) as the receptive field sees it: kernel, stride, dilation."""

    kernel_size: Pair
    stride: Pair = (1, 1)
    dilation: Pair = (1, 1)
    name: str = ""

    @classmethod
    def of(cls, kernel_size: Any, stride: Any = 1, dilation: Any = 1, name: str = "") -> Window:
        """Build a window from ints or pairs (validated)."""
        return cls(pair("kernel_size", kernel_size), pair("stride", stride), pair("dilation", dilation), name)


@dataclass(frozen=True)
class ReceptiveField:
    """Receptive field (size) and jump (distance between neighbouring outputs, in input pixels)."""

    size: Pair
    jump: Pair
    steps: tuple[Explanation, ...]

    def explain(self) -> str:
        """Every step of the recurrence, one line each."""
        return "\n".join(e.text() for e in self.steps)


def _windows(layers: Iterable[Window | Conv2dSpec | LayerSpec]) -> list[Window]:
    out: list[Window] = []
    for i, layer in enumerate(layers):
        if isinstance(layer, LayerSpec):
            out.extend(Window(s.kernel_size, s.stride, s.dilation, f"{i}.{s.role}") for s in layer.stages)
        elif isinstance(layer, Conv2dSpec):
            out.append(Window(layer.kernel_size, layer.stride, layer.dilation, f"{i}.{layer.role}"))
        else:
            out.append(
                layer if layer.name else Window(layer.kernel_size, layer.stride, layer.dilation, str(i))
            )
    return out


def window_step(size: int, jump: int, kernel: int, stride: int = 1, dilation: int = 1) -> tuple[int, int]:
    """One step of the recurrence along one axis: ``(r + d·(k − 1)·j, j·s)``.

    >>> window_step(1, 1, 3, stride=2)
    (3, 2)
    """
    return size + dilation * (kernel - 1) * jump, jump * stride


def receptive_field(
    layers: Iterable[Window | Conv2dSpec | LayerSpec], *, start: tuple[Pair, Pair] | None = None
) -> ReceptiveField:
    """Receptive field and jump of a chain of windows / conv specs / layer specs, per axis (H, W).

    Args:
        layers: the chain, input side first.
        start: (field, jump) of the chain's input when it is not the model input (default r = j = 1).

    >>> receptive_field([Window.of(3), Window.of(3, stride=2), Window.of(3)]).size
    (9, 9)
    """
    r = list(start[0]) if start else [1, 1]
    j = list(start[1]) if start else [1, 1]
    steps: list[Explanation] = []
    for win in _windows(layers):
        for axis in (0, 1):
            k, s, d = win.kernel_size[axis], win.stride[axis], win.dilation[axis]
            new_r, new_j = window_step(r[axis], j[axis], k, s, d)
            label = "height" if axis == 0 else "width"
            steps.append(
                Explanation(
                    f"receptive field ({label})",
                    "r + d·(k−1)·j",
                    f"{r[axis]} + {d}·({k}−1)·{j[axis]}",
                    new_r,
                    win.name,
                )
            )
            if s != 1:
                steps.append(Explanation(f"jump ({label})", "j·s", f"{j[axis]}·{s}", new_j, win.name))
            r[axis], j[axis] = new_r, new_j
    return ReceptiveField((r[0], r[1]), (j[0], j[1]), tuple(steps))
