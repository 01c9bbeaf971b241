"""The module tree of a profiled model: one `Node` per path, with the parameters and buffers it owns.

A module reachable under two parents (the same block used by an encoder and a decoder) gets a node under
each path, so each call is charged to the path it was called through (`ModelTree.path_for`); its
parameters belong to the first path, the other paths list them as shared. A module reused inside one
container (a loop over ``[block] * 3``) keeps one node.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from convwise.layers.families import BATCH_NORMS
from convwise.profile.node import Node

#: Module types shown as one row in the default (Keras-like) view: the convwise conv layers.
_ATOMIC_NAMES = ("ConvVariant", "SpecConv2d")


def _kind(module: nn.Module) -> tuple[str | None, str | None, Any]:
    """(variant kind or a layer family, description, conv `LayerSpec` or None) of a module."""
    from convwise.layers.families import conv2d_spec, layer_kind

    spec = conv2d_spec(module)
    if spec is not None:
        return spec.kind, spec.describe(), spec
    return layer_kind(module), None, None


def element_width(t: torch.Tensor, width: int) -> int:
    """Bytes per element of `t` in the profile: `width` for floating tensors, its own size otherwise."""
    return width if t.is_floating_point() else t.element_size()


def module_paths(model: nn.Module) -> Iterator[tuple[str, nn.Module]]:
    """(path, module) in pre-order, every module once per distinct parent path (cycles skipped)."""
    seen: set[tuple[int, str]] = set()

    def visit(path: str, module: nn.Module, ancestors: frozenset[int]) -> Iterator[tuple[str, nn.Module]]:
        yield path, module
        for name, child in module._modules.items():
            if child is None or id(child) in ancestors or (id(child), path) in seen:
                continue
            seen.add((id(child), path))
            yield from visit(f"{path}.{name}" if path else name, child, ancestors | {id(child)})

    yield from visit("", model, frozenset({id(model)}))


@dataclass
class ModelTree:
    """The nodes of a model and what the engine needs to run it.

    Attributes:
        nodes: path → node, in pre-order; the root is ''.
        paths: id(module) → its paths (first: the one owning its parameters).
        param_bytes: bytes of the unique parameters at their own dtype.
        params: unique parameters by their first name (for `torch.func.functional_call`).
        buffers: unique buffers by their first name.
    """

    nodes: dict[str, Node]
    paths: dict[int, list[str]]
    param_bytes: int
    params: dict[str, torch.Tensor]
    buffers: dict[str, torch.Tensor]

    def path_for(self, module: nn.Module, stack: Sequence[str]) -> str | None:
        """The path `module` is called through, given the paths of the running modules (outermost first).

        The candidate under the innermost running module wins; None for a module outside the model.
        """
        candidates = self.paths.get(id(module))
        if candidates is None:
            return None
        if len(candidates) == 1:
            return candidates[0]

        def depth(path: str) -> int:
            return max((len(s) + 1 for s in stack if not s or path.startswith(s + ".")), default=0)

        return max(candidates, key=depth)


def build_tree(model: nn.Module, width: int = 4) -> ModelTree:
    """Nodes with their own unique parameters and buffers.

    `width` is the bytes per element of floating parameters in the profile's dtype (`Node.weight_bytes`).
    """
    nodes: dict[str, Node] = {}
    paths: dict[int, list[str]] = {}
    seen: set[int] = set()
    param_bytes = 0
    params: dict[str, torch.Tensor] = {}
    buffers: dict[str, torch.Tensor] = {}
    for name, module in module_paths(model):
        atomic = any(c.__name__ in _ATOMIC_NAMES for c in type(module).__mro__) and type(
            module
        ).__module__.startswith("convwise.")
        node = Node(name, type(module).__name__, None, 0 if not name else name.count(".") + 1, atomic=atomic)
        node.resolve = functools.partial(_kind, module)
        if isinstance(module, nn.Linear):
            node.linear = (module.in_features, module.out_features, module.bias is not None)
        nodes[name] = node
        paths.setdefault(id(module), []).append(name)
        if name:
            nodes[name.rpartition(".")[0]].children.append(name)
        # A "unit" reads its input and writes its output once: a leaf module, or a primitive convwise conv
        # (SpecConv2d: its inner padding is an implementation detail), not nested in another unit.
        leaf = not any(True for _ in module.children())
        primitive = type(module).__name__ == "SpecConv2d" and atomic
        node.unit = (leaf or primitive) and not _inside_unit(nodes, name)
        prefix = name + "." if name else ""
        for pname, p in module._parameters.items():
            if p is None:
                continue
            n = p.numel()
            if id(p) in seen:
                node.shared_params += n
                continue
            seen.add(id(p))
            params[prefix + pname] = p
            param_bytes += n * p.element_size()
            node.params += n
            node.weight_bytes += n * element_width(p, width)
            if p.requires_grad:
                node.trainable_params += n
            else:
                node.frozen_params += n
        stats = set()
        if isinstance(module, BATCH_NORMS):
            stats = {id(b) for b in (module.running_mean, module.running_var) if b is not None}
        for bname, b in module._buffers.items():
            if b is None or id(b) in seen:
                continue
            seen.add(id(b))
            buffers[prefix + bname] = b
            node.buffers += b.numel()
            if id(b) in stats:
                node.bn_statistics += b.numel()
    return ModelTree(nodes, paths, param_bytes, params, buffers)


def _inside_unit(nodes: dict[str, Node], name: str) -> bool:
    while name:
        name = name.rpartition(".")[0]
        if nodes[name].unit:
            return True
    return False
