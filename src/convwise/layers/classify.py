"""Classify existing convolutions: an `nn.Conv2d` (or a depthwise→pointwise pair) → variant and spec."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
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


def stage_role(in_channels: int, out_channels: int, groups: int, kernel_size: tuple[int, int]) -> Role:
    """The role of one primitive conv from its channels, groups and kernel: conv, depthwise or pointwise.

    >>> stage_role(32, 32, 32, (3, 3)), stage_role(32, 64, 1, (1, 1)), stage_role(3, 16, 1, (3, 3))
    ('depthwise', 'pointwise', 'conv')
    """
    if groups == in_channels and out_channels % in_channels == 0 and kernel_size != (1, 1):
        return "depthwise"
    if kernel_size == (1, 1):
        return "pointwise"
    return "conv"


def conv_stage(conv: nn.Conv2d) -> Conv2dSpec:
    """The primitive `Conv2dSpec` of an `nn.Conv2d`, with its role (conv / depthwise / pointwise)."""
    if not isinstance(conv, nn.Conv2d):
        raise config_error("Expected a torch.nn.Conv2d.", module=type(conv).__name__)
    kh, kw = (int(v) for v in conv.kernel_size)
    cin, cout, g = conv.in_channels, conv.out_channels, conv.groups
    role = stage_role(cin, cout, g, (kh, kw))
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

    Accepts `nn.Conv2d` and convwise layers: a variant layer's spec is returned as is; a lone `SpecConv2d`
    keeps its own stage (with its padding policy, e.g. TF 'same') and gets the kind its channels, groups
    and kernel give.

    >>> classify_conv(nn.Conv2d(8, 16, 3, groups=8)).kind, classify_conv(nn.Conv2d(8, 16, 1)).kind
    ('depthwise', 'pointwise')
    """
    from convwise.layers.conv import ConvVariant, SpecConv2d

    if isinstance(conv, ConvVariant):
        return conv.spec
    if isinstance(conv, SpecConv2d):
        base = classify_conv(conv.conv)
        return LayerSpec(base.kind, (conv.spec,), depth_multiplier=base.depth_multiplier)
    return classify_stage(conv_stage(conv))  # type: ignore[arg-type]


def classify_stage(stage: Conv2dSpec) -> LayerSpec:
    """The variant of one primitive conv spec (from any framework): standard, grouped, depthwise, pointwise.

    >>> from convwise.core import Conv2dSpec
    >>> [classify_stage(Conv2dSpec(16, 32, (3, 3), groups=g)).kind for g in (1, 2, 16)]
    ['standard', 'grouped', 'depthwise']
    """
    stage = replace(
        stage, role=stage_role(stage.in_channels, stage.out_channels, stage.groups, stage.kernel_size)
    )
    cin, cout, g = stage.in_channels, stage.out_channels, stage.groups
    if stage.role == "pointwise":
        return LayerSpec("pointwise", (stage,))
    if g == 1:
        # a 1-channel conv also matches the depthwise rule; as a standard conv its role is 'conv'
        return LayerSpec("standard", (replace(stage, role="conv"),))
    if stage.role == "depthwise":
        return LayerSpec("depthwise", (stage,), depth_multiplier=cout // cin)
    return LayerSpec("grouped", (stage,))


def classify_pair(first: nn.Module, second: nn.Module) -> LayerSpec | None:
    """A depthwise conv followed by a 1×1 conv, as one separable (or grouped-separable) spec; else None.

    Both may be plain `nn.Conv2d` or convwise layers. The 1×1 conv must read the depthwise output as it
    is: stride 1, no padding of its own.

    >>> classify_pair(nn.Conv2d(4, 4, 3, groups=4), nn.Conv2d(4, 10, 1)).describe()
    'separable 3x3, padding valid, bias pytorch, 4→10'
    """
    from convwise.layers.families import conv2d_spec

    a, b = conv2d_spec(first), conv2d_spec(second)
    if a is None or b is None or a.kind != "depthwise" or b.kind != "pointwise":
        return None
    dw, pw = a.stages[0], b.stages[0]
    if pw.stride != (1, 1) or pw.in_channels != dw.out_channels or pw.padding.kind == "explicit":
        return None
    policy = {(True, True): "pytorch", (False, True): "keras", (False, False): "none"}.get((dw.bias, pw.bias))
    kind = "separable" if pw.groups == 1 else "grouped-separable"
    return LayerSpec(
        kind,
        (dw, pw),
        depth_multiplier=dw.out_channels // dw.in_channels,
        bias_policy=policy,  # type: ignore[arg-type]
    )


def conv_like_modules(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """Outermost 2-D convs in registration order: convwise layers, lone `SpecConv2d`, `nn.Conv2d`.

    The stages inside a convwise layer are not listed beside it.

    >>> from convwise.layers import SeparableConv2d
    >>> [n for n, _ in conv_like_modules(nn.Sequential(SeparableConv2d(4, 8, 3), nn.Conv2d(8, 8, 1)))]
    ['0', '1']
    """
    from convwise.layers.families import is_conv2d

    found: list[tuple[str, nn.Module]] = []
    covered: list[str] = []
    for name, module in model.named_modules():
        if any(name == c or name.startswith(c + ".") for c in covered):
            continue
        if is_conv2d(module):
            found.append((name, module))
            covered.append(name)
    return found


def separable_blocks(convs: Sequence[tuple[str, nn.Module]]) -> Iterator[tuple[tuple[str, ...], LayerSpec]]:
    """The depthwise-separable blocks among convolutions given in order, with their specs.

    A block is a convwise separable layer (one name), or a depthwise conv directly followed in `convs` by
    a 1×1 conv that `classify_pair` accepts (two names). Normalisation or activation modules between the
    two are not in `convs`, so they do not break a pair (as in MobileNet's blocks).

    >>> convs = [("dw", nn.Conv2d(4, 4, 3, groups=4)), ("pw", nn.Conv2d(4, 8, 1))]
    >>> [(names, spec.kind) for names, spec in separable_blocks(convs)]
    [(('dw', 'pw'), 'separable')]
    """
    from convwise.layers.families import conv2d_spec

    i = 0
    while i < len(convs):
        name, module = convs[i]
        spec = conv2d_spec(module)
        if spec is not None and spec.is_composite:
            yield (name,), spec
        elif i + 1 < len(convs):
            pair = classify_pair(module, convs[i + 1][1])
            if pair is not None:
                yield (name, convs[i + 1][0]), pair
                i += 1
        i += 1


def find_separable_pairs(model: nn.Module) -> Iterator[tuple[str, str, LayerSpec]]:
    """(name of depthwise conv, name of pointwise conv, spec) for consecutive depthwise→1×1 convs.

    Consecutive means adjacent in module registration order among the model's convolutions
    (`conv_like_modules`); normalisation or activation modules between them are allowed (as in MobileNet
    blocks). A convwise separable layer is one layer already, not a pair.
    """
    for names, spec in separable_blocks(conv_like_modules(model)):
        if len(names) == 2:
            yield names[0], names[1], spec
