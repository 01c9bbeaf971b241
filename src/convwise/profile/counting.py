"""One counted forward: module hooks keep the stack of running modules, two modes count what runs.

- A `TorchFunctionMode` sees every torch function call at the level the model wrote it: a call with a
  function formula (``F.linear``, ``F.conv2d``, attention, ``torch.lstm``, norms, dropout) is costed from
  its arguments and the ops dispatched inside it are not counted again. While it is active,
  ``torch.overrides.has_torch_function`` is true, so PyTorch skips its fused fast paths
  (``_transformer_encoder_layer_fwd``, ``_native_multi_head_attention``, nested tensors) and runs the
  module's reference code, whatever the autograd mode.
- A `TorchDispatchMode` sees every aten op: it runs it (on meta, from its shapes when it can), tracks
  the receptive field, and costs it by its op formula unless a module or function formula covers it.
  A composite op with no formula (``aten.conv2d``, ``aten.linear`` … which arrive undecomposed under
  ``torch.inference_mode``) is decomposed into the ops it is made of, which are then counted.

Every cost is charged to the innermost running module, through the path it was called by.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode

from convwise.profile.formulas import Formula, FormulaTable, OpCost, op_key
from convwise.profile.meta_shapes import fast_meta
from convwise.profile.node import Node
from convwise.profile.receptive import FieldTracker
from convwise.profile.tensors import tensors_in
from convwise.profile.tree import ModelTree, element_width

_MISSING = object()


def shapes_of(value: Any) -> list[list[int]]:
    """The shapes of every tensor in `value`."""
    return [[int(n) for n in t.shape] for t in tensors_in(value)]


def activation_bytes(value: Any, width: int) -> int:
    """Bytes of every tensor in `value` (nested tuples/lists/dicts), floating ones at `width` bytes each."""
    return sum(t.numel() * element_width(t, width) for t in tensors_in(value))


class RunState:
    """Mutable state of one profiling run shared by the hooks and the two modes."""

    def __init__(self, tree: ModelTree, table: FormulaTable, *, meta: bool = True, width: int = 4) -> None:
        self.tracker = FieldTracker(keep_alive=meta)
        self.tree = tree
        self.nodes = tree.nodes
        self.table = table
        self.stack: list[str] = [""]
        self.frames: list[tuple[str, bool, Any]] = []  # (node name, known?, module formula)
        self.suppress = 0
        self.cache: dict[Any, tuple[str, Formula | None, bool]] = {}
        self.last_inputs: dict[str, list[list[int]]] = {}
        self.module_cache: dict[type, Any] = {}
        self.width = width

    def current(self) -> Node:
        """The node of the innermost running module."""
        return self.nodes[self.stack[-1]]

    def add(self, node: Node, cost: OpCost, key: str) -> None:
        """Charge `cost` to `node` under the name `key`."""
        entry = node.ops.get(key)
        if entry is None:
            entry = node.ops[key] = [0, 0, 0, 0]
        entry[0] += 1
        entry[1] += cost.mults
        entry[2] += cost.acc_adds + cost.bias_adds
        entry[3] += cost.other_ops
        node.mults += cost.mults
        node.acc_adds += cost.acc_adds
        node.bias_adds += cost.bias_adds
        node.other_ops += cost.other_ops
        node.mults_excluding_padding += (
            cost.mults if cost.mults_excluding_padding is None else cost.mults_excluding_padding
        )

    def pre(self, module: nn.Module, args: tuple[Any, ...]) -> None:
        """Global forward pre-hook: push the module (by the path it is called through)."""
        name = self.tree.path_for(module, self.stack)
        cls = type(module)
        formula = self.module_cache.get(cls, _MISSING)
        if formula is _MISSING:
            formula = self.module_cache[cls] = self.table.module_formula(module)
        if name is None:
            self.frames.append((self.stack[-1], False, formula))
            self.stack.append(self.stack[-1])
        else:
            node = self.nodes[name]
            node.calls += 1
            shapes = shapes_of(args)
            nbytes = activation_bytes(args, self.width)
            node.input_bytes += nbytes
            if node.unit:
                node.traffic_in += nbytes
            self.last_inputs[name] = shapes
            if node.input_shape is None and shapes:
                node.input_shape = shapes[0]
                node.rf_in = self.tracker.first(args)
            self.frames.append((name, True, formula))
            self.stack.append(name)
        if formula is not None:
            self.suppress += 1

    def post(self, module: nn.Module, args: tuple[Any, ...], output: Any) -> None:
        """Global forward hook: pop the module, record its output, apply its module formula."""
        if not self.frames:
            return
        name, known, formula = self.frames.pop()
        self.stack.pop()
        node = self.nodes[name]
        if known:
            nbytes = activation_bytes(output, self.width)
            node.output_bytes += nbytes
            if node.unit:
                node.traffic_out += nbytes
        if known and node.output_shape is None:
            shapes = shapes_of(output)
            if shapes:
                node.output_shape = shapes[0]
                node.rf = self.tracker.first(output)
        if formula is not None:
            self.suppress -= 1
            if self.suppress == 0:
                self.apply(node, "module " + type(module).__name__, lambda: formula(module, args, output))

    def apply(self, node: Node, key: str, compute: Callable[[], Any]) -> None:
        """Charge what `compute()` returns; a formula that fails or returns something else: uncounted."""
        try:
            cost = compute()
        except Exception as exc:  # a formula that cannot handle these arguments: say so, do not guess
            label = f"{key} (formula failed: {type(exc).__name__})"
            node.uncounted[label] = node.uncounted.get(label, 0) + 1
            return
        if not isinstance(cost, OpCost):
            label = f"{key} (formula returned {type(cost).__name__}, not OpCost)"
            node.uncounted[label] = node.uncounted.get(label, 0) + 1
            return
        self.add(node, cost, key)

    def entry(self, func: Any) -> tuple[str, Formula | None, bool]:
        """(table key, op formula or None, decompose?) of a dispatched op, cached."""
        entry = self.cache.get(func)
        if entry is None:
            key = op_key(func)
            formula = self.table.ops.get(key)
            composite = formula is None and _is_composite(func)
            entry = self.cache[func] = (key, formula, composite)
        return entry

    def op(
        self, key: str, formula: Formula | None, args: tuple[Any, ...], kwargs: dict[str, Any], out: Any
    ) -> None:
        """Charge one dispatched op to the running module."""
        node = self.current()
        if formula is None:
            node.uncounted[key] = node.uncounted.get(key, 0) + 1
            return
        self.apply(node, key, lambda: formula(args, kwargs, out))


def _is_composite(func: Any) -> bool:
    name = getattr(func, "name", None)
    if not callable(name) or not hasattr(func, "decompose"):
        return False
    try:
        return bool(torch._C._dispatch_has_kernel_for_dispatch_key(name(), "CompositeImplicitAutograd"))
    except RuntimeError:
        return False


class FunctionCounter(TorchFunctionMode):
    """Costs the torch function calls that have a function formula, at the level the model wrote them."""

    def __init__(self, state: RunState) -> None:
        super().__init__()
        self.state = state
        self.functions = state.table.functions

    def __torch_function__(
        self, func: Any, types: Any, args: tuple[Any, ...] = (), kwargs: Any = None
    ) -> Any:
        kwargs = kwargs or {}
        try:
            entry = self.functions.get(func)
        except TypeError:  # an unhashable callable
            entry = None
        state = self.state
        if entry is None or state.suppress:
            return func(*args, **kwargs)
        name, formula = entry
        node = state.current()
        state.suppress += 1
        try:
            out = func(*args, **kwargs)
        finally:
            state.suppress -= 1
        state.apply(node, name, lambda: formula(args, kwargs, out))
        return out


class OpCounter(TorchDispatchMode):
    """Runs each aten op (on meta: from its shapes when it can), tracks fields, costs it."""

    def __init__(self, state: RunState, meta: bool) -> None:
        super().__init__()
        self.state = state
        self.meta = meta

    @classmethod
    def _should_skip_dynamo(cls) -> bool:
        # Wrapping __torch_dispatch__ in torch._disable_dynamo would import torch._dynamo (~2 s, ~70 MB)
        # on the first op; the profile runs with dynamo disabled (engine), so it needs no wrapping.
        return False

    def __torch_dispatch__(
        self, func: Any, types: Any, args: tuple[Any, ...] = (), kwargs: Any = None
    ) -> Any:
        kwargs = kwargs or {}
        state = self.state
        key, formula, composite = state.entry(func)
        if composite:
            with self:
                out = func.decompose(*args, **kwargs)
            if out is not NotImplemented:
                return out
        out = fast_meta(func, args, kwargs) if self.meta else None
        if out is None:
            out = func(*args, **kwargs)
        state.tracker.op(func, args, kwargs, out)
        if not state.suppress:
            state.op(key, formula, args, kwargs, out)
        return out
