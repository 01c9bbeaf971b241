"""Private per-layer counter for the zoo and what-if: core's conv costs + Linear, from one meta forward.

Conv numbers come from `convwise.core.layer_cost` (the one source of truth); a `Linear` costs
in·out MACs per row. The model is deep-copied to the meta device, so the original is never touched.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from convwise.core import LayerCost, LayerSpec, config_error, layer_cost
from convwise.layers import ConvVariant, SpecConv2d, classify_conv


@dataclass(frozen=True)
class LayerCount:
    """Cost of one counted layer (a conv variant or a Linear) for one sample."""

    name: str
    type: str
    kind: str
    kernel_size: tuple[int, int] | None
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    params: int
    macs: int
    weight_params: int
    cost: LayerCost | None = None

    @property
    def spec(self) -> LayerSpec | None:
        """The conv spec (None for a Linear)."""
        return self.cost.spec if self.cost is not None else None


@dataclass(frozen=True)
class ModelCount:
    """Per-layer counts of a model and its totals (params = numel of unique parameters)."""

    layers: tuple[LayerCount, ...]
    params: int
    input_shape: tuple[int, int, int]

    @property
    def macs(self) -> int:
        """Σ MACs over counted layers (convs + linears)."""
        return sum(layer.macs for layer in self.layers)

    @property
    def counted_params(self) -> int:
        """Σ params of counted layers (convs + linears; BN and others excluded)."""
        return sum(layer.params for layer in self.layers)

    def by_name(self) -> dict[str, LayerCount]:
        """Layers keyed by module name (first call of a shared module)."""
        out: dict[str, LayerCount] = {}
        for layer in self.layers:
            out.setdefault(layer.name, layer)
        return out


def conv_like_modules(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """Outermost convolution modules: convwise variants, lone `SpecConv2d`, plain `nn.Conv2d`."""
    found: list[tuple[str, nn.Module]] = []
    covered: list[str] = []
    for name, module in model.named_modules():
        if any(name == c or name.startswith(c + ".") for c in covered):
            continue
        if isinstance(module, (ConvVariant, SpecConv2d, nn.Conv2d)):
            found.append((name, module))
            covered.append(name)
    return found


def spec_of(module: nn.Module) -> LayerSpec:
    """The `LayerSpec` of a conv-like module (a lone `SpecConv2d` or `nn.Conv2d` is classified)."""
    if isinstance(module, ConvVariant):
        return module.spec
    if isinstance(module, SpecConv2d):
        stage = module.spec
        base = classify_conv(module.conv)  # kind from channels/groups/kernel; padding from the spec
        return LayerSpec(base.kind, (stage,), depth_multiplier=base.depth_multiplier, groups=base.groups)
    return classify_conv(module)


def unique_params(model: nn.Module) -> int:
    """Number of elements of the model's parameters, a shared parameter counted once."""
    return sum(p.numel() for p in model.parameters())


def keras_param_counts(model: nn.Module) -> tuple[int, int]:
    """(trainable, non-trainable) as Keras counts them: BatchNorm running mean/variance are non-trainable.

    Trainable = parameters with `requires_grad`; non-trainable = frozen parameters + BN running stats.
    """
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    frozen = sum(p.numel() for p in model.parameters() if not p.requires_grad)
    stats = 0
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm) and module.track_running_stats:
            for buf in (module.running_mean, module.running_var):
                if buf is not None:
                    stats += buf.numel()
    return trainable, frozen + stats


def count_model(model: nn.Module, input_shape: tuple[int, int, int]) -> ModelCount:
    """Per-layer params and MACs of `model` on one sample of `input_shape` (C, H, W).

    Runs one forward pass of a meta-device deep copy (in eval mode); the model itself is untouched.

    Raises:
        ConfigError: if the forward pass fails on that input shape.
    """
    shape = tuple(int(v) for v in input_shape)
    if len(shape) != 3 or min(shape) < 1:
        raise config_error(
            "`input_shape` must be three positive integers (C, H, W).", input_shape=input_shape
        )
    twin = copy.deepcopy(model).to("meta").eval()
    rows: list[LayerCount] = []
    handles = []

    def conv_hook(name: str) -> Any:
        def hook(module: nn.Module, args: tuple[Any, ...], output: torch.Tensor) -> None:
            x = args[0]
            chw = (int(x.shape[1]), int(x.shape[2]), int(x.shape[3]))
            spec = spec_of(module)
            cost = layer_cost(spec, chw)
            kh, kw = spec.kernel_size
            rows.append(
                LayerCount(
                    name,
                    type(module).__name__,
                    spec.kind,
                    (kh, kw),
                    chw,
                    tuple(int(v) for v in output.shape[1:]),
                    cost.counts.params,
                    cost.counts.macs,
                    cost.counts.weight_params,
                    cost,
                )
            )

        return hook

    def linear_hook(name: str) -> Any:
        def hook(module: nn.Linear, args: tuple[Any, ...], output: torch.Tensor) -> None:
            x = args[0]
            rows_per_sample = math.prod(int(v) for v in x.shape[1:-1])
            params = module.weight.numel() + (module.bias.numel() if module.bias is not None else 0)
            rows.append(
                LayerCount(
                    name,
                    type(module).__name__,
                    "linear",
                    None,
                    tuple(int(v) for v in x.shape[1:]),
                    tuple(int(v) for v in output.shape[1:]),
                    params,
                    module.in_features * module.out_features * rows_per_sample,
                    module.weight.numel(),
                )
            )

        return hook

    for name, module in conv_like_modules(twin):
        handles.append(module.register_forward_hook(conv_hook(name)))
    for name, module in twin.named_modules():
        if isinstance(module, nn.Linear):
            handles.append(module.register_forward_hook(linear_hook(name)))
    try:
        with torch.no_grad():
            twin(torch.empty(1, *shape, device="meta"))
    except Exception as exc:
        raise config_error(
            f"The model cannot run on this input shape: {type(exc).__name__}: {exc}", input_shape=shape
        ) from exc
    finally:
        for h in handles:
            h.remove()
    return ModelCount(tuple(rows), unique_params(model), (shape[0], shape[1], shape[2]))


__all__ = [
    "LayerCount",
    "ModelCount",
    "conv_like_modules",
    "count_model",
    "keras_param_counts",
    "spec_of",
    "unique_params",
]
