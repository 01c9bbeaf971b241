"""Classify existing convolutions: an `nn.Conv2d` (or a depthwise→pointwise pair) → variant and spec."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import replace

from torch import nn

from convwise.core import SAME, VALID, Conv2dSpec, LayerSpec, Padding, config_error, parse_padding
from convwise.core.spec import Role


def _padding_of(conv: nn.Conv2d) -> Padding:
    mode = conv.padding_mode
    if isinstance(conv.padding, str):
        return parse_padding(SAME, mode) if conv.padding == "same" else VALID
    ph, pw = conv.padding
    # no padding: the padding mode has nothing to act on, so the policy is plain 'valid'
    return parse_padding((int(ph), int(pw)), mode) if (ph or pw) else VALID


def conv_stage(conv: nn.Conv2d) -> Conv2dSpec:
    """The primitive `Conv2dSpec` of an `nn.Conv2d`, with its role (conv / depthwise / pointwise)."""
    if not isinstance(conv, nn.Conv2d):
        raise config_error("Expected a torch.nn.Conv2d.", module=type(conv).__name__)
    kh, kw = (int(v) for v in conv.kernel_size)
    cin, cout, g = conv.in_channels, conv.out_channels, conv.groups
    role: Role = "conv"
    if g == cin and cout % cin == 0 and (kh, kw) != (1, 1):
        role = "depthwise"
    elif (kh, kw) == (1, 1):
        role = "pointwise"
    return Conv2dSpec(
        cin,
        cout,
        (kh, kw),
        (int(conv.stride[0]), int(conv.stride[1])),
        _padding_of(conv),
        (int(conv.dilation[0]), int(conv.dilation[1])),
        g,
        conv.bias is not None,
        role,
    )


def classify_conv(conv: nn.Module) -> LayerSpec:
    """The variant of one convolution module: standard, grouped, depthwise or pointwise.

    Accepts `nn.Conv2d` and convwise layers (whose spec is returned as is).
    """
    from convwise.layers.conv import ConvVariant, SpecConv2d

    if isinstance(conv, ConvVariant):
        return conv.spec
    if isinstance(conv, SpecConv2d):
        conv = conv.conv
    stage = conv_stage(conv)  # type: ignore[arg-type]
    cin, cout, g = stage.in_channels, stage.out_channels, stage.groups
    if stage.role == "pointwise":
        return LayerSpec("pointwise", (stage,), groups=g)
    if g == 1:
        # a 1-channel conv also matches the depthwise rule; as a standard conv its role is 'conv'
        return LayerSpec("standard", (replace(stage, role="conv"),))
    if stage.role == "depthwise":
        return LayerSpec("depthwise", (stage,), depth_multiplier=cout // cin, groups=g)
    return LayerSpec("grouped", (stage,), groups=g)


def classify_pair(first: nn.Module, second: nn.Module) -> LayerSpec | None:
    """A depthwise conv followed by a 1×1 conv, as one separable (or grouped-separable) spec; else None."""
    from convwise.layers.conv import SpecConv2d

    a = first.conv if isinstance(first, SpecConv2d) else first
    b = second.conv if isinstance(second, SpecConv2d) else second
    if not (isinstance(a, nn.Conv2d) and isinstance(b, nn.Conv2d)):
        return None
    dw, pw = conv_stage(a), conv_stage(b)
    if dw.role != "depthwise" or pw.kernel_size != (1, 1) or pw.stride != (1, 1):
        return None
    if pw.in_channels != dw.out_channels or pw.padding.kind == "explicit":
        return None
    policy = {(True, True): "pytorch", (False, True): "keras", (False, False): "none"}.get((dw.bias, pw.bias))
    kind = "separable" if pw.groups == 1 else "grouped-separable"
    return LayerSpec(
        kind,
        (dw, pw),
        depth_multiplier=dw.out_channels // dw.in_channels,
        bias_policy=policy,
        groups=pw.groups,
    )  # type: ignore[arg-type]


def find_separable_pairs(model: nn.Module) -> Iterator[tuple[str, str, LayerSpec]]:
    """(name of depthwise conv, name of pointwise conv, spec) for consecutive depthwise→1×1 convs.

    Consecutive means adjacent in module registration order among `nn.Conv2d` modules; normalisation or
    activation modules between them are allowed (as in MobileNet blocks).
    """
    convs = [(n, m) for n, m in model.named_modules() if isinstance(m, nn.Conv2d)]
    for (na, a), (nb, b) in itertools.pairwise(convs):
        spec = classify_pair(a, b)
        if spec is not None:
            yield na, nb, spec
