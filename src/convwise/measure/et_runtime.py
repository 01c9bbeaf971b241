"""ExecuTorch with the XNNPACK delegate as an inference backend: the PyTorch module lowered for one shape.

`lower_xnnpack` exports the module with `torch.export` at one static input shape, hands every operator
XNNPACK supports to the XNNPACK delegate (`to_edge_transform_and_lower`), and loads the resulting program
with ExecuTorch's runtime. XNNPACK runs float32 models in float32 (it has no silent lower-precision mode),
so the row is fp32. The package is optional (extra `executorch`) and imported only here, on first use.

ExecuTorch's thread pool is process-wide; it is set to the requested thread count when a program is
loaded (through the private `_unsafe_reset_threadpool`, where the installed version has it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from convwise.core.errors import config_error, missing_extra


def require() -> Any:
    """ExecuTorch's Python runtime module, imported on first use.

    Raises:
        MissingDependencyError: ExecuTorch is not installed; the message names the extra `executorch`.
    """
    try:
        from executorch.extension.pybindings import portable_lib
    except ImportError:
        raise missing_extra("executorch", "executorch", "The ExecuTorch (XNNPACK) backend") from None
    return portable_lib


@dataclass
class ExecuTorchModel:
    """A lowered ExecuTorch program for one input shape; call it with a float32 tensor of that shape.

    Attributes:
        precision: `fp32` (XNNPACK's float path).
        threads: ExecuTorch's thread-pool size when the program was loaded.
        delegated: how many of the exported graph's operators XNNPACK runs (the rest run as portable ops).
        total: how many operators the exported graph has.
    """

    module: Any
    program: bytes  # the runtime reads the program from this buffer: it must stay alive with `module`
    precision: str
    threads: int
    delegated: int
    total: int

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Run one batch; returns the first output."""
        return self.module.forward((x.contiguous(),))[0]  # type: ignore[no-any-return]


def _count_ops(graph_module: Any) -> tuple[int, int]:
    """(operators inside XNNPACK's delegated subgraphs, all operators) of a lowered edge program."""
    delegated = total = 0
    for node in graph_module.graph.nodes:
        if node.op != "call_function" or "getitem" in str(node.target):
            continue
        if "executorch_call_delegate" in str(node.target):
            lowered = getattr(graph_module, str(node.args[0].target))
            inner = sum(
                1
                for n in lowered.original_module.graph.nodes
                if n.op == "call_function" and "getitem" not in str(n.target)
            )
            delegated += inner
            total += inner
        else:
            total += 1
    return delegated, total


def lower_xnnpack(model: nn.Module, input_shape: tuple[int, ...], *, threads: int = 1) -> ExecuTorchModel:
    """Export `model` at one static input shape (batch included), lower it to XNNPACK, load the program.

    Args:
        model: an eval-mode float32 module (not changed).
        input_shape: the full input shape, e.g. (1, 3, 224, 224).
        threads: ExecuTorch's thread-pool size (process-wide).

    Returns:
        An `ExecuTorchModel`.

    Raises:
        ConfigError: a non-float32 model or a non-positive thread count.
        MissingDependencyError: ExecuTorch is not installed (extra `executorch`).

    Example:
        `lower_xnnpack(model, (1, 3, 224, 224))(x)` runs `x` through XNNPACK. Arguments are checked before
        ExecuTorch is imported:

        >>> lower_xnnpack(torch.nn.Linear(2, 2).double(), (1, 2))
        Traceback (most recent call last):
        ...
        convwise.core.errors.ConfigError: The XNNPACK backend runs float32 models. Received: dtype='float64'.
    """
    dtype = next((p.dtype for p in model.parameters() if p.is_floating_point()), torch.float32)
    if dtype != torch.float32:
        raise config_error(
            "The XNNPACK backend runs float32 models.", dtype=str(dtype).removeprefix("torch.")
        )
    if int(threads) < 1:
        raise config_error("`threads` must be a positive integer.", threads=threads)
    runtime = require()
    from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
    from executorch.exir import to_edge_transform_and_lower

    example = torch.randn(*input_shape)
    with torch.no_grad():
        exported = torch.export.export(model.eval(), (example,))
    edge = to_edge_transform_and_lower(exported, partitioner=[XnnpackPartitioner()])
    delegated, total = _count_ops(edge.exported_program().graph_module)
    program = edge.to_executorch()
    reset = getattr(runtime, "_unsafe_reset_threadpool", None)
    if reset is not None:
        reset(int(threads))
    count = getattr(runtime, "_threadpool_get_thread_count", lambda: int(threads))
    buffer = bytes(program.buffer)
    module = runtime._load_for_executorch_from_buffer(buffer)
    return ExecuTorchModel(module, buffer, "fp32", int(count()), delegated, total)
