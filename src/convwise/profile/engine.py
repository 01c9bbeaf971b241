"""The profiling engine: run a forward on the meta device, count every dispatched op, attribute it to modules.

Counting happens at the dispatch level (a `TorchDispatchMode`), so functional calls count as well as
modules. Each op is attributed to the innermost module running when it was dispatched (global module
pre/post forward hooks keep a module stack). What an op costs is looked up in a `FormulaTable`
(`convwise.profile.formulas`); the engine itself knows no formula.

The model is never modified: the forward runs through `torch.func.functional_call` with meta copies
of every parameter and buffer (or, on the real-tensor fallback, with cloned buffers), under
`torch.no_grad` and a forked RNG, so device, train/eval mode, parameters, buffers (BatchNorm running
statistics) and the RNG state are the same afterwards.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

from convwise.core import config_error, positive_int
from convwise.layers.families import BATCH_NORMS
from convwise.profile.formulas import DEFAULT_FORMULAS, Formula, FormulaTable, OpCost, op_key
from convwise.profile.meta_shapes import fast_meta
from convwise.profile.receptive import FieldTracker
from convwise.profile.report import Node, Report
from convwise.profile.tensors import tensors_in

#: Module types shown as one row in the default (Keras-like) view: the convwise conv layers.
_ATOMIC_NAMES = ("ConvVariant", "SpecConv2d")


class _Failure(Exception):
    """The forward failed; carries the innermost module running at the time."""

    def __init__(
        self, exc: BaseException, module: str, module_type: str, shapes: list[list[int]] | None
    ) -> None:
        super().__init__(str(exc))
        self.exc = exc
        self.module = module
        self.module_type = module_type
        self.shapes = shapes


def _kind(module: nn.Module) -> tuple[str | None, str | None, Any]:
    """(variant kind or a layer family, description, conv `LayerSpec` or None) of a module."""
    from convwise.layers.families import conv2d_spec, layer_kind

    spec = conv2d_spec(module)
    if spec is not None:
        return spec.kind, spec.describe(), spec
    return layer_kind(module), None, None


def _shapes(value: Any) -> list[list[int]]:
    return [[int(n) for n in t.shape] for t in tensors_in(value)]


def _width(t: torch.Tensor, width: int) -> int:
    """Bytes per element of `t` in the profile: `width` for floating tensors, its own size otherwise."""
    return width if t.is_floating_point() else t.element_size()


def _activation_bytes(value: Any, width: int) -> int:
    """Bytes of every tensor in `value` (nested tuples/lists/dicts), floating ones at `width` bytes each."""
    return sum(t.numel() * _width(t, width) for t in tensors_in(value))


def _build_nodes(
    model: nn.Module, width: int = 4
) -> tuple[dict[str, Node], dict[int, str], int, dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """Nodes with their own unique parameters and buffers; id → name; parameter bytes; unique tensors.

    `width` is the bytes per element of floating parameters in the profile's dtype (`Node.weight_bytes`).
    """
    nodes: dict[str, Node] = {}
    ids: dict[int, str] = {}
    seen: set[int] = set()
    param_bytes = 0
    params: dict[str, torch.Tensor] = {}
    buffers: dict[str, torch.Tensor] = {}
    for name, module in model.named_modules():
        atomic = any(c.__name__ in _ATOMIC_NAMES for c in type(module).__mro__) and type(
            module
        ).__module__.startswith("convwise.")
        node = Node(name, type(module).__name__, None, 0 if not name else name.count(".") + 1, atomic=atomic)
        node.resolve = functools.partial(_kind, module)
        nodes[name] = node
        ids[id(module)] = name
        if name:
            parent = name.rpartition(".")[0]
            nodes[parent].children.append(name)
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
            node.weight_bytes += n * _width(p, width)
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
    return nodes, ids, param_bytes, params, buffers


def _inside_unit(nodes: dict[str, Node], name: str) -> bool:
    while name:
        name = name.rpartition(".")[0]
        if nodes[name].unit:
            return True
    return False


_MISSING = object()


class _State:
    """Mutable state of one profiling run shared by the hooks and the dispatch mode."""

    def __init__(
        self,
        nodes: dict[str, Node],
        ids: dict[int, str],
        table: FormulaTable,
        *,
        meta: bool = True,
        width: int = 4,
    ) -> None:
        self.tracker = FieldTracker(keep_alive=meta)
        self.nodes = nodes
        self.ids = ids
        self.table = table
        self.stack: list[str] = [""]
        self.frames: list[tuple[str, bool, Any]] = []  # (node name, known?, module formula)
        self.suppress = 0
        self.cache: dict[Any, tuple[str, Formula | None]] = {}
        self.last_inputs: dict[str, list[list[int]]] = {}
        self.module_cache: dict[type, Any] = {}
        self.width = width

    def add(self, node: Node, cost: OpCost, key: str) -> None:
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
        name = self.ids.get(id(module))
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
            shapes = _shapes(args)
            nbytes = _activation_bytes(args, self.width)
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
        if not self.frames:
            return
        name, known, formula = self.frames.pop()
        self.stack.pop()
        node = self.nodes[name]
        if known:
            nbytes = _activation_bytes(output, self.width)
            node.output_bytes += nbytes
            if node.unit:
                node.traffic_out += nbytes
        if known and node.output_shape is None:
            shapes = _shapes(output)
            if shapes:
                node.output_shape = shapes[0]
                node.rf = self.tracker.first(output)
        if formula is not None:
            self.suppress -= 1
            if self.suppress == 0:
                self._apply(node, "module " + type(module).__name__, lambda: formula(module, args, output))

    def _apply(self, node: Node, key: str, compute: Any) -> None:
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

    def op(self, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> None:
        entry = self.cache.get(func)
        if entry is None:
            key = op_key(func)
            entry = (key, self.table.ops.get(key))
            self.cache[func] = entry
        key, formula = entry
        node = self.nodes[self.stack[-1]]
        if formula is None:
            node.uncounted[key] = node.uncounted.get(key, 0) + 1
            return
        self._apply(node, key, lambda: formula(args, kwargs, out))


class _Counter(TorchDispatchMode):
    """Dispatch mode that runs each op (on meta: from its shapes when it can) and hands it to the state."""

    def __init__(self, state: _State, meta: bool) -> None:
        super().__init__()
        self.state = state
        self.meta = meta

    @classmethod
    def _should_skip_dynamo(cls) -> bool:
        # Wrapping __torch_dispatch__ in torch._disable_dynamo would import torch._dynamo (~2 s, ~70 MB)
        # on the first op; the mode never runs under torch.compile, so it needs no wrapping.
        return False

    def __torch_dispatch__(
        self, func: Any, types: Any, args: tuple[Any, ...] = (), kwargs: Any = None
    ) -> Any:
        kwargs = kwargs or {}
        out = fast_meta(func, args, kwargs) if self.meta else None
        if out is None:
            out = func(*args, **kwargs)
        self.state.tracker.op(func, args, kwargs, out)
        if not self.state.suppress:
            self.state.op(func, args, kwargs, out)
        return out


def _model_device_dtype(model: nn.Module) -> tuple[torch.device, torch.dtype]:
    for t in [*model.parameters(), *model.buffers()]:
        if t.is_floating_point():
            return t.device, t.dtype
    for t in [*model.parameters(), *model.buffers()]:
        return t.device, torch.get_default_dtype()
    return torch.device("cpu"), torch.get_default_dtype()


def _normalise_sizes(input_size: Any) -> list[tuple[int, ...]]:
    rule = "`input_size` must be a shape such as (3, 224, 224) or a list of such shapes (one per input)."
    if isinstance(input_size, torch.Size):
        input_size = tuple(input_size)
    if isinstance(input_size, (tuple, list)) and input_size and all(isinstance(v, int) for v in input_size):
        sizes = [tuple(input_size)]
    elif (
        isinstance(input_size, (tuple, list))
        and input_size
        and all(isinstance(s, (tuple, list, torch.Size)) for s in input_size)
    ):
        sizes = [tuple(s) for s in input_size]
    else:
        raise config_error(rule, input_size=input_size)
    for s in sizes:
        if not s or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in s):
            raise config_error(rule, input_size=input_size)
    return sizes


def _run(
    model: nn.Module,
    tensors: tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]],
    state: _State,
    make_args: Any,
    *,
    meta: bool,
) -> None:
    from torch.func import functional_call

    if meta:
        replace = {n: torch.empty_like(t, device="meta") for group in tensors for n, t in group.items()}
    else:
        replace = {n: b.clone() for n, b in tensors[1].items()}
    args = make_args()
    state.tracker.seed(args)
    handles = [
        nn.modules.module.register_module_forward_pre_hook(state.pre),
        nn.modules.module.register_module_forward_hook(state.post),
    ]
    try:
        with _Counter(state, meta):
            functional_call(model, replace, args, tie_weights=True, strict=False)
    except Exception as exc:
        name = state.stack[-1] if state.stack else ""
        node = state.nodes.get(name)
        raise _Failure(exc, name, node.type if node else "?", state.last_inputs.get(name)) from exc
    finally:
        for h in handles:
            h.remove()
        state.tracker.clear()


def _reset(nodes: dict[str, Node]) -> None:
    for node in nodes.values():
        node.calls = 0
        node.input_shape = node.output_shape = node.rf = node.rf_in = None
        node.mults = node.acc_adds = node.bias_adds = node.mults_excluding_padding = node.other_ops = 0
        node.uncounted = {}
        node.ops = {}
        node.input_bytes = node.output_bytes = node.traffic_in = node.traffic_out = 0


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".strip()


def profile(
    model: nn.Module,
    input_size: Sequence[int] | Sequence[Sequence[int]] | None = None,
    *,
    inputs: Any = None,
    batch: int = 1,
    dtype: torch.dtype | None = None,
    keras: bool = False,
    formulas: FormulaTable | dict[Any, Formula] | None = None,
    device: str = "meta",
    name: str | None = None,
) -> Report:
    """Profile `model`: parameters of every module and the cost of every op of one forward pass.

    Args:
        model: any `nn.Module`; it is left exactly as it was.
        input_size: the shape of one sample without the batch axis, e.g. (3, 224, 224), or a list of
            such shapes for a model with several inputs. None (and no `inputs`) profiles parameters only.
        inputs: example input(s) instead of `input_size`: a tensor or a tuple of positional arguments
            (used with their own shapes, batch axis included).
        batch: N, the batch size prepended to `input_size` (op counts are for the whole batch).
        dtype: dtype of the generated inputs (default: the model's floating dtype); also the element
            size of the byte counts (floating weights and activations are sized at this dtype).
        keras: count BatchNorm running mean/variance as non-trainable parameters (Keras' convention).
        formulas: a `FormulaTable` to use instead of the default, or a mapping op → formula (or module
            class → module formula) added to the default.
        device: 'meta' (default; falls back to real tensors when the model cannot run on meta) or
            'real' (run on the model's own device with real tensors).
        name: the model's name in the report (default: its class name).

    Returns:
        A `Report`.

    Raises:
        ConfigError: bad arguments, or a forward that fails on real tensors too (the message names the
            module that failed and the shapes it received).
    """
    if not isinstance(model, nn.Module):
        raise config_error("`model` must be a torch.nn.Module.", model=type(model).__name__)
    positive_int("batch", batch)
    if device not in ("meta", "real"):
        raise config_error("`device` must be 'meta' or 'real'.", device=device)
    if input_size is not None and inputs is not None:
        raise config_error("Give `input_size` or `inputs`, not both.", input_size=input_size)
    if isinstance(formulas, FormulaTable):
        table = formulas
    else:
        table = DEFAULT_FORMULAS.merged(formulas) if formulas else DEFAULT_FORMULAS
    model_device, model_dtype = _model_device_dtype(model)
    in_dtype = dtype or model_dtype
    width = torch.empty((), dtype=in_dtype, device="meta").element_size()
    nodes, ids, param_bytes, params, buffers = _build_nodes(model, width)
    report_name = name or type(model).__name__
    if input_size is None and inputs is None:
        return Report(
            report_name,
            nodes,
            [],
            batch,
            str(in_dtype).removeprefix("torch."),
            "none",
            None,
            False,
            keras,
            param_bytes,
            model.training,
        )
    if inputs is not None:
        args_src = inputs if isinstance(inputs, tuple) else (inputs,)
        shapes = _shapes(args_src)
        if not shapes:
            raise config_error("`inputs` must contain at least one tensor.", inputs=type(inputs).__name__)
        batch = shapes[0][0] if shapes[0] else 1

        def meta_args() -> tuple[Any, ...]:
            return tuple(a.to("meta") if isinstance(a, torch.Tensor) else a for a in args_src)

        def real_args() -> tuple[Any, ...]:
            return tuple(a.to(model_device) if isinstance(a, torch.Tensor) else a for a in args_src)
    else:
        sizes = _normalise_sizes(input_size)
        shapes = [[batch, *s] for s in sizes]

        def meta_args() -> tuple[Any, ...]:
            return tuple(torch.empty(s, device="meta", dtype=in_dtype) for s in shapes)

        def real_args() -> tuple[Any, ...]:
            return tuple(torch.randn(s, device=model_device, dtype=in_dtype) for s in shapes)

    rng_devices = [model_device] if model_device.type == "cuda" else []
    fallback: str | None = None
    ran_on = "meta"
    with torch.random.fork_rng(devices=rng_devices), torch.no_grad():
        if device == "meta":
            try:
                _run(model, (params, buffers), _State(nodes, ids, table, width=width), meta_args, meta=True)
            except _Failure as fail:
                fallback = f"the model cannot run on the meta device ({_one_line(fail.exc)})"
                _reset(nodes)
        if device == "real" or fallback is not None:
            ran_on = str(model_device)
            try:
                state = _State(nodes, ids, table, meta=False, width=width)
                _run(model, (params, buffers), state, real_args, meta=False)
            except _Failure as fail:
                where = f"`{fail.module}`" if fail.module else "the top-level forward"
                raise config_error(
                    f"The model rejected the input: the forward failed in module {where} "
                    f"({fail.module_type}) with {_one_line(fail.exc)}",
                    input_shapes=shapes,
                    module_input_shapes=fail.shapes,
                ) from None
    notes = []
    if model.training:
        notes.append(
            "The model is in training mode: counted as it ran (dropout, batch statistics); "
            "call .eval() for inference costs."
        )
    return Report(
        report_name,
        nodes,
        [list(s) for s in shapes],
        batch,
        str(in_dtype).removeprefix("torch."),
        ran_on,
        fallback,
        True,
        keras,
        param_bytes,
        model.training,
        notes,
    )


def count_params(model: nn.Module) -> int:
    """Unique parameter elements (a shared parameter counted once)."""
    return sum(p.numel() for p in model.parameters())
