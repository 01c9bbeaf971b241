"""Run a model once with hooks on chosen modules and record every call; leave the model as it was.

Two helpers every module-level analysis shares (BatchNorm folding, conv+activation fusion, the roofline's
per-layer timing, the diagram's fallback graph):

- `trace_calls` hooks the leaf modules (or the modules given), runs the forward once without autograd,
  removes the hooks, and returns each call in the order the calls finished, with the exact argument and
  output objects (kept alive, so `call.args[0] is other.output` tells that one module consumed what
  another returned). `hooked` is the hook registration alone, for callers that run the model themselves.
- `preserved` is the guard that puts a model back as it was: every module's train/eval mode, the values
  of its parameters and buffers (BatchNorm running statistics) and torch's CPU RNG state.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

#: A forward pre-hook (module, args) and a forward hook (module, args, output).
PreHook = Callable[[nn.Module, tuple[Any, ...]], None]
PostHook = Callable[[nn.Module, tuple[Any, ...], Any], None]


@dataclass(frozen=True)
class Call:
    """One call of a hooked module: its qualified name, the module, its positional arguments and output."""

    name: str
    module: nn.Module
    args: tuple[Any, ...]
    output: Any

    @property
    def input(self) -> Any:
        """The first positional argument (None when there is none)."""
        return self.args[0] if self.args else None


def leaf_modules(model: nn.Module, *, whole: tuple[type, ...] = ()) -> list[tuple[str, nn.Module]]:
    """`(name, module)` of every module without children, in `named_modules` order.

    Args:
        model: the model.
        whole: module types kept as one unit (their own children are not listed), e.g. convwise's conv
            layers.

    Returns:
        The leaves (the root itself when it has no children).

    Example:
        >>> from torch import nn
        >>> net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Sequential(nn.ReLU(), nn.Flatten()))
        >>> [name for name, _ in leaf_modules(net)]
        ['0', '1.0', '1.1']
        >>> [name for name, _ in leaf_modules(net, whole=(nn.Sequential,))]
        ['']
    """
    out: list[tuple[str, nn.Module]] = []
    skip: set[int] = set()
    for name, module in model.named_modules():
        if id(module) in skip:
            continue
        if whole and isinstance(module, whole):
            skip.update(id(m) for m in module.modules())
            out.append((name, module))
        elif not any(True for _ in module.children()):
            out.append((name, module))
    return out


@contextlib.contextmanager
def hooked(
    modules: Iterable[nn.Module], *, pre: PreHook | None = None, post: PostHook | None = None
) -> Iterator[None]:
    """Forward pre-hooks and/or hooks on `modules` for the duration of the block, removed even on error.

    Example:
        >>> import torch
        >>> from torch import nn
        >>> net = nn.Sequential(nn.Linear(2, 3), nn.ReLU())
        >>> seen = []
        >>> with hooked(net.modules(), post=lambda m, args, out: seen.append(type(m).__name__)):
        ...     _ = net(torch.zeros(1, 2))
        >>> seen, len(net[0]._forward_hooks)
        (['Linear', 'ReLU', 'Sequential'], 0)
    """
    handles = []
    try:
        for module in modules:
            if pre is not None:
                handles.append(module.register_forward_pre_hook(pre))
            if post is not None:
                handles.append(module.register_forward_hook(post))
        yield
    finally:
        for handle in handles:
            handle.remove()


def trace_calls(
    model: nn.Module,
    *inputs: Any,
    modules: Sequence[tuple[str, nn.Module]] | None = None,
) -> tuple[list[Call], Any]:
    """Run `model(*inputs)` once without autograd and record every call of the hooked modules.

    Args:
        model: the model, run as it is (its mode is not changed; wrap the call in `preserved` to undo
            what a training-mode forward does to BatchNorm statistics).
        inputs: the forward's positional arguments.
        modules: `(name, module)` pairs to hook (default: `leaf_modules(model)`).

    Returns:
        `(calls, output)`: the calls in the order they finished, and the model's output.

    Example:
        >>> import torch
        >>> from torch import nn
        >>> net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU()).eval()
        >>> calls, out = trace_calls(net, torch.zeros(1, 1, 5, 5))
        >>> [c.name for c in calls], calls[1].input is calls[0].output
        (['0', '1', '2'], True)
    """
    pairs = list(leaf_modules(model) if modules is None else modules)
    names = {id(m): n for n, m in pairs}
    calls: list[Call] = []

    def record(module: nn.Module, args: tuple[Any, ...], output: Any) -> None:
        calls.append(Call(names[id(module)], module, args, output))

    with hooked([m for _, m in pairs], post=record), torch.no_grad():
        output = model(*inputs)
    return calls, output


@contextlib.contextmanager
def preserved(model: nn.Module) -> Iterator[nn.Module]:
    """Put `model` back as it was after the block: modes, parameter and buffer values, the CPU RNG state.

    Example:
        >>> import torch
        >>> from torch import nn
        >>> bn = nn.BatchNorm1d(2)
        >>> with preserved(bn):
        ...     _ = bn.eval().train()(torch.randn(4, 2) + 5)  # updates the running mean in train mode
        >>> bn.training, bn.running_mean.tolist()
        (True, [0.0, 0.0])
    """
    modes = [(m, m.training) for m in model.modules()]
    state = {k: v.detach().clone() for k, v in model.state_dict(keep_vars=True).items()}
    rng = torch.get_rng_state()
    try:
        yield model
    finally:
        for module, mode in modes:
            module.training = mode
        current = model.state_dict(keep_vars=True)
        with torch.no_grad():
            for key, value in state.items():
                now = current.get(key)
                if isinstance(now, torch.Tensor) and now.shape == value.shape:
                    now.copy_(value)
        torch.set_rng_state(rng)
