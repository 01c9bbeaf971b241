"""The optimised inference path: BatchNorm folded, channels-last, inference mode, optional `torch.compile`."""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn

from convwise.export.fold import FoldedPair, _pairs_by_fx, fold_batchnorm

#: Outputs of `optimize(model)` match `model.eval()` to this tolerance (float32): BN folding and the
#: channels-last kernels change only the order of float operations.
RTOL = 1e-4
ATOL = 1e-5


class OptimizedModel(nn.Module):
    """An inference-only wrapper: converts 4-d inputs to channels-last and runs without autograd.

    When the model does not trace with `torch.fx` and `optimize` got no example input, BatchNorm is folded
    on the first call, with that call's input as the example.

    Attributes:
        model: the folded (and possibly compiled) inner module.
        folded: the conv/BatchNorm pairs that were folded (complete after the first call).
        channels_last: whether inputs and weights use the channels-last memory format.
        compiled: whether the inner module was wrapped with `torch.compile`.
    """

    def __init__(
        self,
        model: nn.Module,
        folded: list[FoldedPair],
        channels_last: bool,
        compiled: bool,
        fold_pending: bool = False,
    ) -> None:
        super().__init__()
        self.model = model
        self.folded = folded
        self.channels_last = channels_last
        self.compiled = compiled
        self.fold_pending = fold_pending

    def forward(self, x: torch.Tensor) -> Any:
        """Run the model on `x` (N, C, H, W) in inference mode; the result does not track gradients."""
        if self.channels_last and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        if self.fold_pending:
            base = getattr(self.model, "_orig_mod", self.model)  # the module under torch.compile
            _, self.folded = fold_batchnorm(base, x, inplace=True)
            self.fold_pending = False
        with torch.inference_mode():
            return self.model(x)

    def train(self, mode: bool = True) -> OptimizedModel:
        """Inference only: training mode is refused, `eval()` is a no-op."""
        if mode:
            raise RuntimeError("An OptimizedModel is inference-only (BatchNorm is folded).")
        return super().train(False)


def optimize(
    model: nn.Module,
    *,
    example: torch.Tensor | None = None,
    fold_bn: bool = True,
    channels_last: bool = True,
    compile: bool = False,
    compile_mode: str | None = None,
) -> OptimizedModel:
    """Return an inference-optimised copy of `model`; the original is not changed.

    Steps: copy, eval mode, fold every BatchNorm that directly follows a conv into the conv (wherever the
    pair sits in the module tree), convert weights to channels-last, optionally `torch.compile`, and run
    under `torch.inference_mode`.

    Args:
        model: any module.
        example: an input, used to find conv/BN pairs if the model does not trace with `torch.fx`
            (without it, they are found and folded on the first call).
        fold_bn: fold BatchNorm into the preceding conv.
        channels_last: use the channels-last (NHWC) memory format for weights and inputs.
        compile: wrap the inner module with `torch.compile` (compilation happens on the first call),
            with Inductor's `freezing` option (weights folded in as constants and prepacked).
        compile_mode: a `torch.compile` mode instead (e.g. "max-autotune-no-cudagraphs"), without freezing.

    Returns:
        An `OptimizedModel` whose outputs match `model.eval()` within `RTOL`/`ATOL`.

    Example:
        >>> import torch
        >>> net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4)).eval()
        >>> fast = optimize(net)
        >>> x = torch.randn(1, 3, 8, 8)
        >>> torch.allclose(fast(x), net(x), rtol=RTOL, atol=ATOL)
        True
    """
    inner = copy.deepcopy(model).eval()
    folded: list[FoldedPair] = []
    pending = False
    if fold_bn:
        if example is None and _pairs_by_fx(inner) is None:
            pending = True  # fold on the first call, with its input as the example
        else:
            inner, folded = fold_batchnorm(inner, example, inplace=True)
    for p in inner.parameters():
        p.requires_grad_(False)
    if channels_last:
        inner = inner.to(memory_format=torch.channels_last)
    if compile:
        if compile_mode is None:  # freezing: weights become constants, prepacked for oneDNN (inference)
            inner = torch.compile(inner, options={"freezing": True})  # type: ignore[assignment]
        else:
            inner = torch.compile(inner, mode=compile_mode)  # type: ignore[assignment]
    return OptimizedModel(inner, folded, channels_last, compile, pending).eval()
