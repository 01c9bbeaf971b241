"""The optimisation step: forward, loss and backward without host syncs; optionally compiled.

`convwise train` runs this step. What it does, and why (measured; see docs/training.md, "Speed on a CPU"):
- the forward pass with its loss and the batch's correct-prediction count is one function; with
  `compile=True` (`convwise train --compile`, opt-in: not faster here) Inductor compiles it and its
  backward, and a batch of another size (the last, partial batch of an epoch) runs eagerly instead of
  compiling a second graph;
- the running loss and accuracy stay tensors: nothing is read back per step;
- `precision="bf16"` runs forward and loss under `torch.autocast("cpu", torch.bfloat16)` (weights, gradients
  and optimiser state stay fp32); refused where the CPU has no native bf16 arithmetic.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import torch
import torch.nn.functional as F

from convwise.core.errors import config_error
from convwise.machine import cpu_flags, cpu_model, has_cxx_compiler

_BF16_FLAGS = ("avx512_bf16", "amx_bf16")


def check_precision(precision: str, flags: set[str] | None = None) -> None:
    """Refuse `bf16` where the CPU lacks native bf16 arithmetic (AVX-512 BF16 or AMX-BF16).

    Without them bf16 is emulated and slower than fp32, so there is nothing to gain.

    Raises:
        ConfigError: bf16 requested on such a CPU.

    >>> check_precision("fp32", flags=set())
    >>> check_precision("bf16", flags={"avx2"})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    convwise.core.errors.ConfigError: `precision` bf16 needs a CPU with avx512_bf16 or amx_bf16 ...
    """
    if precision != "bf16":
        return
    flags = cpu_flags() if flags is None else flags
    if not flags & set(_BF16_FLAGS):
        raise config_error(
            f"`precision` bf16 needs a CPU with {' or '.join(_BF16_FLAGS)} (native bf16 arithmetic); "
            f"this one ({cpu_model()}) has neither: use fp32.",
            precision=precision,
        )


def can_compile() -> bool:
    """True when Inductor can build its CPU kernels here (it needs a C++ compiler).

    >>> isinstance(can_compile(), bool)
    True
    """
    return has_cxx_compiler()


class TrainStep:
    """One optimisation step of `net` on a batch, with running sums of loss and correct predictions.

    Args:
        net: the model (or its DDP wrapper), in channels-last when the data are.
        optimizer: its optimiser (fused Adam by default in the trainer).
        label_smoothing: cross-entropy label smoothing.
        compile: compile forward + loss (+ backward) with Inductor for batches of `batch_size`.
        batch_size: the batch size the compiled graph is built for.
        precision: `fp32` or `bf16` (autocast).

    >>> from torch import nn
    >>> net = nn.Sequential(nn.Flatten(), nn.Linear(4, 3))
    >>> step = TrainStep(net, torch.optim.SGD(net.parameters(), lr=0.1), compile=False, batch_size=2)
    >>> step(torch.randn(2, 1, 2, 2), torch.tensor([0, 2]))
    >>> step.seen, bool(step.totals()[0] > 0)
    (2, True)
    """

    def __init__(
        self,
        net: torch.nn.Module,
        optimizer: torch.optim.Optimizer,
        *,
        label_smoothing: float = 0.0,
        compile: bool = False,
        batch_size: int = 0,
        precision: str = "fp32",
    ) -> None:
        self.net = net
        self.optimizer = optimizer
        self.batch_size = batch_size
        self.precision = precision
        eager = functools.partial(_forward_loss, net, label_smoothing, precision)
        self.eager: Callable[..., tuple[torch.Tensor, torch.Tensor]] = eager
        self.compiled: Callable[..., tuple[torch.Tensor, torch.Tensor]] | None = (
            torch.compile(eager, dynamic=False) if compile else None
        )
        self.reset()

    def reset(self) -> None:
        """Zero the running sums (at the start of an epoch)."""
        self.loss_sum = torch.zeros((), dtype=torch.float64)
        self.correct = torch.zeros((), dtype=torch.int64)
        self.seen = 0

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> None:
        """Forward, backward and an optimiser step on (x, y); adds to the running sums."""
        fn = self.compiled if self.compiled is not None and x.shape[0] == self.batch_size else self.eager
        loss, correct = fn(x, y)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        with torch.no_grad():
            self.loss_sum += loss.detach().to(torch.float64) * y.shape[0]
            self.correct += correct
        self.seen += y.shape[0]

    def totals(self) -> torch.Tensor:
        """(loss sum, correct, seen) as one float64 tensor (for an all-reduce)."""
        return torch.stack(
            [
                self.loss_sum,
                self.correct.to(torch.float64),
                torch.tensor(float(self.seen), dtype=torch.float64),
            ]
        )


def _forward_loss(
    net: torch.nn.Module, label_smoothing: float, precision: str, x: torch.Tensor, y: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean cross-entropy of `net(x)` and the number of correct predictions."""
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
        logits = net(x)
    logits = logits.float()
    loss = F.cross_entropy(logits, y, label_smoothing=label_smoothing)
    correct = (logits.detach().argmax(1) == y).sum()
    return loss, correct


__all__ = ["TrainStep", "can_compile", "check_precision", "cpu_flags", "cpu_model"]
