"""The profiling engine: run one forward (on the meta device), count what it does, attribute it to modules.

Counting is `convwise.profile.counting`'s (a function mode for the calls with function formulas, a
dispatch mode for every aten op, module hooks for attribution); what an op costs is looked up in a
`FormulaTable` (`convwise.profile.formulas`); the engine itself knows no formula.

The model is never modified: the forward runs through `torch.func.functional_call` with meta copies
of every parameter and buffer (or, on the real-tensor fallback, with cloned buffers), under
`torch.no_grad` and a forked RNG, and tensors a forward leaves on a module (an old-style
`weight_norm`'s `weight`) are put back, so device, train/eval mode, parameters, buffers (BatchNorm
running statistics), attributes and the RNG state are the same afterwards. Wrappers that only
distribute or compile a model (`nn.DataParallel`, `DistributedDataParallel`, `torch.compile`) are
profiled through the module they wrap, eagerly; a TorchScript module runs on real tensors.
"""

from __future__ import annotations

import contextlib
import sys
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch import nn

from convwise.core import config_error, positive_int
from convwise.profile.counting import FunctionCounter, OpCounter, RunState
from convwise.profile.formulas import DEFAULT_FORMULAS, Formula, FormulaTable
from convwise.profile.inputs import TensorSpec, input_specs
from convwise.profile.node import Node
from convwise.profile.report import Report
from convwise.profile.tensors import tensors_in
from convwise.profile.tree import ModelTree, build_tree


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


def _model_device_dtype(model: nn.Module) -> tuple[torch.device, torch.dtype]:
    for t in [*model.parameters(), *model.buffers()]:
        if t.is_floating_point():
            return t.device, t.dtype
    for t in [*model.parameters(), *model.buffers()]:
        return t.device, torch.get_default_dtype()
    return torch.device("cpu"), torch.get_default_dtype()


def unwrap(model: nn.Module) -> tuple[nn.Module, list[str]]:
    """The module inside `nn.DataParallel` / `DistributedDataParallel` / `torch.compile` wrappers, and notes.

    >>> inner = nn.Linear(2, 3)
    >>> unwrap(nn.DataParallel(inner))[0] is inner
    True
    """
    notes = []
    while True:
        if isinstance(model, (nn.DataParallel, nn.parallel.DistributedDataParallel)):
            notes.append(
                f"Profiled the module inside {type(model).__name__} (the wrapper only splits the batch)."
            )
            model = model.module
        elif type(model).__name__ == "OptimizedModule" and isinstance(
            getattr(model, "_orig_mod", None), nn.Module
        ):
            notes.append("Profiled the module torch.compile wraps, run eagerly (compiling changes no count).")
            model = model._orig_mod
        else:
            return model, notes


@contextlib.contextmanager
def _eager() -> Iterator[None]:
    """Compiled functions inside the model run eagerly, so dynamo never traces the counting code."""
    dynamo = sys.modules.get("torch._dynamo")  # imported only when the model uses torch.compile
    if dynamo is None:
        yield
        return
    with dynamo.config.patch(disable=True), warnings.catch_warnings():
        # a compiled submodule warns that the profiler's global hooks fire for its wrapper too
        warnings.filterwarnings("ignore", message=r"Using `torch\.compile\(module\)` when there are global")
        yield


def _holds_tensors(value: Any) -> bool:
    if isinstance(value, torch.Tensor):
        return True
    return isinstance(value, (list, tuple)) and any(isinstance(v, torch.Tensor) for v in value)


_Saved = list[tuple[nn.Module, dict[str, Any], dict[str, Any], dict[str, Any]]]


def _module_state(model: nn.Module) -> _Saved:
    """Each module's parameter and buffer slots and the tensors it keeps as attributes (containers copied)."""
    return [
        (
            m,
            dict(m._parameters),
            dict(m._buffers),
            {
                k: (type(v)(v) if isinstance(v, (list, tuple)) else v)
                for k, v in vars(m).items()
                if _holds_tensors(v)
            },
        )
        for m in model.modules()
        if not isinstance(m, torch.jit.ScriptModule)  # TorchScript keeps its state in C++ (buffers restored)
    ]


def _restore_module_state(
    saved: list[tuple[nn.Module, dict[str, Any], dict[str, Any], dict[str, Any]]],
) -> None:
    """Put back every slot the run swapped or set: parameters and buffers (`functional_call` can leave a
    module shared under two parents with meta tensors), plain tensor attributes (an old-style
    weight_norm's `weight`), tensor lists (an RNN's `_flat_weights`)."""
    for module, params, buffers, attrs in saved:
        for slots, before in ((module._parameters, params), (module._buffers, buffers)):
            if slots.keys() != before.keys() or any(slots[k] is not v for k, v in before.items()):
                slots.clear()
                slots.update(before)
        for k, v in list(vars(module).items()):
            if k not in attrs and isinstance(v, torch.Tensor):
                del module.__dict__[k]
        module.__dict__.update(attrs)


def _run(
    model: nn.Module,
    tree: ModelTree,
    state: RunState,
    make_args: Callable[[], tuple[Any, ...]],
    *,
    meta: bool,
) -> None:
    from torch.func import functional_call

    script = isinstance(model, torch.jit.ScriptModule)
    if meta:
        groups = (tree.params, tree.buffers)
        replace = {n: torch.empty_like(t, device="meta") for group in groups for n, t in group.items()}
    else:
        replace = {n: b.clone() for n, b in tree.buffers.items()}
    saved_buffers = {n: b.detach().clone() for n, b in model.named_buffers()} if script else {}
    saved = _module_state(model)
    args = make_args()
    state.tracker.seed(args)
    handles = [
        nn.modules.module.register_module_forward_pre_hook(state.pre),
        nn.modules.module.register_module_forward_hook(state.post),
    ]
    try:
        with _eager(), OpCounter(state, meta), FunctionCounter(state):
            if script:  # TorchScript: the stateless API cannot swap its tensors; its buffers are put back
                model(*args)
            else:
                functional_call(model, replace, args, tie_weights=True, strict=False)
    except Exception as exc:
        name = state.stack[-1] if state.stack else ""
        node = state.nodes.get(name)
        raise _Failure(exc, name, node.type if node else "?", state.last_inputs.get(name)) from exc
    finally:
        for h in handles:
            h.remove()
        state.tracker.clear()
        _restore_module_state(saved)
        if saved_buffers:
            for n, b in model.named_buffers():
                b.copy_(saved_buffers[n])


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
    input_size: Any = None,
    *,
    inputs: Any = None,
    batch: int | None = None,
    dtype: torch.dtype | None = None,
    keras: bool = False,
    formulas: FormulaTable | dict[Any, Formula] | None = None,
    device: str = "meta",
    name: str | None = None,
) -> Report:
    """Profile `model`: parameters of every module and the cost of every op of one forward pass.

    Args:
        model: any `nn.Module` (also inside `nn.DataParallel`, `DistributedDataParallel` or
            `torch.compile`, or a TorchScript module); it is left exactly as it was.
        input_size: the shape of one sample without the batch axis, e.g. (3, 224, 224), a
            `TensorSpec` (a shape with a dtype, e.g. token ids ``TensorSpec((128,), torch.long)``), or a
            list of them for a model with several inputs. None (and no `inputs`) profiles parameters only.
        inputs: example input(s) instead of `input_size`: a tensor or a tuple of positional arguments,
            used as they are (counts are for these tensors; the batch is `batch` if given, else unstated).
        batch: N, the batch size prepended to every `input_size` shape (default 1: per sample); never
            read off a shape.
        dtype: dtype of the generated floating inputs (default: the model's floating dtype), also the
            element size of the byte counts; an integer dtype makes every generated input of that dtype.
        keras: count BatchNorm running mean/variance as non-trainable parameters (Keras' convention).
        formulas: a `FormulaTable` to use instead of the default, or a mapping op / torch function /
            module class → formula added to the default.
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
    if batch is not None:
        positive_int("batch", batch)
    if device not in ("meta", "real"):
        raise config_error("`device` must be 'meta' or 'real'.", device=device)
    if input_size is not None and inputs is not None:
        raise config_error("Give `input_size` or `inputs`, not both.", input_size=input_size)
    if dtype is not None and not isinstance(dtype, torch.dtype):
        raise config_error("`dtype` must be a torch.dtype.", dtype=dtype)
    if isinstance(formulas, FormulaTable):
        table = formulas
    else:
        table = DEFAULT_FORMULAS.merged(formulas) if formulas else DEFAULT_FORMULAS
    report_name = name or type(model).__name__
    model, notes = unwrap(model)
    script = isinstance(model, torch.jit.ScriptModule)
    model_device, model_dtype = _model_device_dtype(model)
    float_dtype = dtype if dtype is not None and dtype.is_floating_point else model_dtype
    width = torch.empty((), dtype=float_dtype, device="meta").element_size()
    tree = build_tree(model, width)
    nodes = tree.nodes

    def report(
        shapes: list[list[int]], n: int | None, ran_on: str, fallback: str | None, ran: bool
    ) -> Report:
        return Report(
            report_name,
            nodes,
            shapes,
            n,
            str(float_dtype).removeprefix("torch."),
            ran_on,
            fallback,
            ran,
            keras,
            tree.param_bytes,
            model.training,
            notes,
        )

    if input_size is None and inputs is None:
        return report([], batch or 1, "none", None, False)
    if inputs is not None:
        args_src = inputs if isinstance(inputs, tuple) else (inputs,)
        shapes = [[int(v) for v in t.shape] for t in tensors_in(args_src)]
        if not shapes:
            raise config_error("`inputs` must contain at least one tensor.", inputs=type(inputs).__name__)
        n = batch

        def meta_args() -> tuple[Any, ...]:
            return tuple(a.to("meta") if isinstance(a, torch.Tensor) else a for a in args_src)

        def real_args() -> tuple[Any, ...]:
            return tuple(a.to(model_device) if isinstance(a, torch.Tensor) else a for a in args_src)
    else:
        specs = input_specs(input_size)
        if dtype is not None and not dtype.is_floating_point:
            specs = [TensorSpec(s.shape, s.dtype or dtype) for s in specs]
        n = batch or 1
        shapes = [list(s.batched(n)) for s in specs]

        def meta_args() -> tuple[Any, ...]:
            return tuple(s.make(n, dtype=float_dtype, device="meta") for s in specs)

        def real_args() -> tuple[Any, ...]:
            return tuple(s.make(n, dtype=float_dtype, device=model_device) for s in specs)

    rng_devices = [model_device] if model_device.type == "cuda" else []
    fallback: str | None = None
    ran_on = "meta"
    with torch.random.fork_rng(devices=rng_devices), torch.no_grad():
        if device == "meta" and script:
            fallback = (
                "a TorchScript module runs on real tensors (PyTorch cannot swap its weights for meta ones)"
            )
        elif device == "meta":
            try:
                _run(model, tree, RunState(tree, table, width=width), meta_args, meta=True)
            except _Failure as fail:
                fallback = f"the model cannot run on the meta device ({_one_line(fail.exc)})"
                _reset(nodes)
        if device == "real" or fallback is not None:
            ran_on = str(model_device)
            try:
                _run(model, tree, RunState(tree, table, meta=False, width=width), real_args, meta=False)
            except _Failure as fail:
                where = f"module `{fail.module}`" if fail.module else "the top-level forward"
                raise config_error(
                    f"The forward failed in {where} ({fail.module_type}) with {_one_line(fail.exc)}",
                    input_shapes=shapes,
                    module_input_shapes=fail.shapes,
                ) from None
    if script:
        notes.append(
            "TorchScript module: its ops are counted at the top level (its submodules run inside "
            "TorchScript, where convwise cannot see which one runs an op)."
        )
    if model.training:
        notes.append(
            "The model is in training mode: counted as it ran (dropout, batch statistics); "
            "call .eval() for inference costs."
        )
    return report(shapes, n, ran_on, fallback, True)


def count_params(model: nn.Module) -> int:
    """Unique parameter elements (a shared parameter counted once)."""
    return sum(p.numel() for p in model.parameters())
