"""Fold inference-mode BatchNorm into the conv that feeds it, wherever the conv sits in the module tree.

For a conv `y = W*x + b` followed by BatchNorm with running statistics (mean mu, variance v), scale gamma,
shift beta and epsilon eps, the pair equals one conv with

    s  = gamma / sqrt(v + eps)          (per output channel)
    W' = W * s                          (each output filter scaled)
    b' = (b - mu) * s + beta            (b = 0 when the conv has no bias)

Pairs are found from what the model actually runs, not from how it is declared: a `torch.fx` trace when the
model traces (a conv whose only user is a BatchNorm of the same dimensionality), otherwise forward hooks that
see the BatchNorm receive exactly the tensor object the conv returned. So a conv and its BatchNorm may be
children of a wrapper block (conv -> BN -> act) at any depth.
"""

from __future__ import annotations

import copy
from collections import Counter
from dataclasses import dataclass

import torch
from torch import nn

from convwise.core.errors import config_error
from convwise.layers.families import BATCH_NORMS as _NORMS
from convwise.layers.families import CONVS as _CONVS
from convwise.layers.families import spatial_dims
from convwise.profile.trace import preserved, trace_calls


@dataclass(frozen=True)
class FoldedPair:
    """One conv/BatchNorm pair that was folded: qualified module names."""

    conv: str
    norm: str


def _foldable(conv: nn.Module, norm: nn.Module) -> bool:
    if not isinstance(conv, _CONVS) or not isinstance(norm, _NORMS):
        return False
    if spatial_dims(conv) != spatial_dims(norm):
        return False
    if norm.running_mean is None or norm.running_var is None:  # track_running_stats=False: batch statistics
        return False
    return conv.out_channels == norm.num_features


def _pairs_by_fx(model: nn.Module) -> list[FoldedPair] | None:
    """Conv -> BN pairs from a symbolic trace, or None when the model does not trace."""
    try:
        from torch import fx

        graph = fx.symbolic_trace(model).graph
    except Exception:  # dynamic control flow, unsupported ops: fall back to hooks
        return None
    modules = dict(model.named_modules())
    calls: dict[str, int] = {}
    for node in graph.nodes:
        if node.op == "call_module":
            calls[node.target] = calls.get(node.target, 0) + 1
    pairs: list[FoldedPair] = []
    for node in graph.nodes:
        if node.op != "call_module" or not isinstance(modules.get(node.target), _NORMS):
            continue
        if len(node.args) != 1 or not isinstance(node.args[0], fx.Node):
            continue
        src = node.args[0]
        if src.op != "call_module" or len(src.users) != 1:
            continue
        if calls[src.target] != 1 or calls[node.target] != 1:  # a shared module cannot be folded
            continue
        if _foldable(modules[src.target], modules[node.target]):
            pairs.append(FoldedPair(conv=src.target, norm=node.target))
    return pairs


def _pairs_by_hooks(model: nn.Module, example: torch.Tensor) -> list[FoldedPair]:
    """Conv -> BN pairs seen in one forward pass: the BN input is the very tensor the conv returned."""
    hooked = [(n, m) for n, m in model.named_modules() if isinstance(m, _CONVS + _NORMS)]
    with preserved(model):  # a training-mode forward would update BatchNorm statistics
        calls, _ = trace_calls(model, example, modules=hooked)
    count = Counter(c.name for c in calls)
    conv_of = {id(c.output): c.name for c in calls if isinstance(c.module, _CONVS)}  # outputs kept alive
    seen = [
        (conv_of[id(c.input)], c.name)
        for c in calls
        if isinstance(c.module, _NORMS) and id(c.input) in conv_of
    ]
    modules = dict(model.named_modules())
    uses = Counter(conv for conv, _ in seen)
    return [
        FoldedPair(conv=c, norm=n)
        for c, n in seen
        if uses[c] == 1 and count[c] == 1 and count[n] == 1 and _foldable(modules[c], modules[n])
    ]


def _fold_into(conv: nn.Module, norm: nn.Module) -> None:
    with torch.no_grad():
        var = norm.running_var.to(torch.float64)
        mean = norm.running_mean.to(torch.float64)
        gamma = norm.weight.to(torch.float64) if norm.weight is not None else torch.ones_like(var)
        beta = norm.bias.to(torch.float64) if norm.bias is not None else torch.zeros_like(var)
        scale = gamma / torch.sqrt(var + norm.eps)
        weight = conv.weight.to(torch.float64)
        shape = (-1,) + (1,) * (weight.dim() - 1)
        new_weight = weight * scale.reshape(shape)
        bias = conv.bias.to(torch.float64) if conv.bias is not None else torch.zeros_like(mean)
        new_bias = (bias - mean) * scale + beta
        dtype = conv.weight.dtype
        conv.weight.copy_(new_weight.to(dtype))
        if conv.bias is None:
            conv.bias = nn.Parameter(new_bias.to(dtype=dtype, device=conv.weight.device))
        else:
            conv.bias.copy_(new_bias.to(dtype))


def _set_module(root: nn.Module, name: str, new: nn.Module) -> None:
    parent_name, _, attr = name.rpartition(".")
    parent = root.get_submodule(parent_name) if parent_name else root
    if isinstance(parent, nn.Sequential | nn.ModuleList) and attr.isdigit():
        parent[int(attr)] = new
    else:
        setattr(parent, attr, new)


def find_conv_bn_pairs(model: nn.Module, example: torch.Tensor | None = None) -> list[FoldedPair]:
    """The conv -> BatchNorm pairs of `model` that can be folded.

    Args:
        model: any module; it is not changed.
        example: an input used for the hook-based search when the model does not trace with `torch.fx`.

    Returns:
        The pairs in execution order (empty when there are none).

    Raises:
        ConfigError: the model does not trace with `torch.fx` and no `example` was given.

    Example:
        >>> from torch import nn
        >>> net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.Conv2d(8, 8, 1)).eval()
        >>> find_conv_bn_pairs(net)
        [FoldedPair(conv='0', norm='1')]
    """
    pairs = _pairs_by_fx(model)
    if pairs is None:
        if example is None:
            raise config_error(
                "Folding BatchNorm in a model that does not trace with torch.fx needs an `example` input.",
                model=type(model).__name__,
            )
        pairs = _pairs_by_hooks(model, example)
    return pairs


def fold_batchnorm(
    model: nn.Module, example: torch.Tensor | None = None, *, inplace: bool = False
) -> tuple[nn.Module, list[FoldedPair]]:
    """Fold every BatchNorm that directly follows a conv into that conv (inference semantics).

    Args:
        model: the model; copied first unless `inplace`.
        example: an input tensor, needed when the model does not trace with `torch.fx`: pairs are then
            found with forward hooks on one pass over it, and the folded model is checked against the
            original on it.
        inplace: modify `model` itself.

    Returns:
        `(model, pairs)`: the model in eval mode with each folded BatchNorm replaced by `nn.Identity`, and
        the pairs that were folded. The folded model computes what the original computes in eval mode, up to
        float rounding (about 1e-6 relative in float32).

    Raises:
        ConfigError: the model does not trace with `torch.fx` and no `example` was given, or (hook-based
            search only) the folded model disagrees with the original on `example` (a conv output is also
            used outside its BatchNorm).
    """
    target = model if inplace else copy.deepcopy(model)
    target.eval()
    traced = _pairs_by_fx(target)
    pairs = traced if traced is not None else find_conv_bn_pairs(target, example)
    reference = None
    if traced is None and pairs and example is not None:
        with torch.no_grad():
            reference = target(example)
    for pair in pairs:
        _fold_into(target.get_submodule(pair.conv), target.get_submodule(pair.norm))
        _set_module(target, pair.norm, nn.Identity())
    if isinstance(reference, torch.Tensor):
        with torch.no_grad():
            folded = target(example)
        scale = float(reference.abs().max()) + 1.0
        if not torch.allclose(folded, reference, rtol=1e-3, atol=1e-4 * scale):
            raise config_error(
                "Folding BatchNorm changed the model's output; a conv output is used outside its BatchNorm.",
                model=type(model).__name__,
            )
    return target, pairs
