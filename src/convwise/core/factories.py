"""Factories of convolution specs: one per variant (`standard` … `grouped_separable`), `make_spec` by name.

Every argument is validated and ints are normalised to per-axis pairs, so a spec that exists is valid.

>>> make_spec("separable", 16, 32, 3, padding="same").describe()
'separable 3x3, padding same, bias pytorch, 16→32'
"""

from __future__ import annotations

from typing import Any

from convwise.core.errors import config_error
from convwise.core.padding import VALID, Padding, parse_padding
from convwise.core.spec import BIAS_POLICIES, KINDS, BiasPolicy, Conv2dSpec, Kind, LayerSpec
from convwise.core.validate import Pair, is_int, pair, positive_int


def _common(
    kernel_size: Any, stride: Any, padding: Any, dilation: Any, padding_mode: str
) -> tuple[Pair, Pair, Padding, Pair]:
    return (
        pair("kernel_size", kernel_size),
        pair("stride", stride),
        parse_padding(padding, padding_mode),
        pair("dilation", dilation),
    )


def _bias_flag(bias: Any) -> bool:
    if not isinstance(bias, bool):
        raise config_error("`bias` must be True or False.", bias=bias)
    return bias


def standard(
    in_channels: int,
    out_channels: int,
    kernel_size: int | Pair,
    *,
    stride: int | Pair = 1,
    padding: Any = "valid",
    dilation: int | Pair = 1,
    bias: bool = True,
    padding_mode: str = "zeros",
) -> LayerSpec:
    """Standard convolution: every filter sees every input channel (dilation > 1 makes it dilated)."""
    k, s, p, d = _common(kernel_size, stride, padding, dilation, padding_mode)
    stage = Conv2dSpec(in_channels, out_channels, k, s, p, d, 1, _bias_flag(bias))
    return LayerSpec("standard", (stage,))


def grouped(
    in_channels: int,
    out_channels: int,
    kernel_size: int | Pair,
    groups: int,
    *,
    stride: int | Pair = 1,
    padding: Any = "valid",
    dilation: int | Pair = 1,
    bias: bool = True,
    padding_mode: str = "zeros",
) -> LayerSpec:
    """Grouped convolution: channels split into `groups`, each convolved on its own, concatenated."""
    k, s, p, d = _common(kernel_size, stride, padding, dilation, padding_mode)
    g = positive_int("groups", groups)
    stage = Conv2dSpec(in_channels, out_channels, k, s, p, d, g, _bias_flag(bias))
    return LayerSpec("grouped", (stage,))


def depthwise(
    in_channels: int,
    kernel_size: int | Pair,
    *,
    depth_multiplier: int = 1,
    stride: int | Pair = 1,
    padding: Any = "valid",
    dilation: int | Pair = 1,
    bias: bool = True,
    padding_mode: str = "zeros",
) -> LayerSpec:
    """Depthwise convolution: `depth_multiplier` k×k filters per input channel; Cout = m·Cin."""
    k, s, p, d = _common(kernel_size, stride, padding, dilation, padding_mode)
    cin = positive_int("in_channels", in_channels)
    m = positive_int("depth_multiplier", depth_multiplier)
    stage = Conv2dSpec(cin, cin * m, k, s, p, d, cin, _bias_flag(bias), "depthwise")
    return LayerSpec("depthwise", (stage,), depth_multiplier=m)


def pointwise(
    in_channels: int,
    out_channels: int,
    *,
    stride: int | Pair = 1,
    bias: bool = True,
    groups: int = 1,
    padding: Any = "valid",
    padding_mode: str = "zeros",
) -> LayerSpec:
    """Pointwise (1×1) convolution: mixes channels, keeps H×W at stride 1 without padding.

    `padding` is 'valid' by default; 'same' needs no padding for a 1×1 kernel at any stride, explicit
    amounts are applied as `nn.Conv2d(..., 1, padding=p)` would.
    """
    g = positive_int("groups", groups)
    stage = Conv2dSpec(
        in_channels,
        out_channels,
        (1, 1),
        pair("stride", stride),
        parse_padding(padding, padding_mode),
        (1, 1),
        g,
        _bias_flag(bias),
        "pointwise",
    )
    return LayerSpec("pointwise", (stage,))


def _separable_biases(bias_policy: Any) -> tuple[bool, bool]:
    if bias_policy not in BIAS_POLICIES:
        raise config_error(
            f"`bias_policy` must be one of {', '.join(BIAS_POLICIES)}.", bias_policy=bias_policy
        )
    return {"pytorch": (True, True), "keras": (False, True), "none": (False, False)}[bias_policy]


def separable(
    in_channels: int,
    out_channels: int,
    kernel_size: int | Pair,
    *,
    depth_multiplier: int = 1,
    stride: int | Pair = 1,
    padding: Any = "valid",
    dilation: int | Pair = 1,
    bias_policy: BiasPolicy = "pytorch",
    padding_mode: str = "zeros",
) -> LayerSpec:
    """Depthwise-separable convolution: depthwise k×k (carrying stride/padding/dilation), then pointwise.

    `bias_policy`: 'pytorch' (both stages have a bias), 'keras' (pointwise only, as Keras'
    `SeparableConv2D`), 'none'.
    """
    return grouped_separable(
        in_channels,
        out_channels,
        kernel_size,
        1,
        depth_multiplier=depth_multiplier,
        stride=stride,
        padding=padding,
        dilation=dilation,
        bias_policy=bias_policy,
        padding_mode=padding_mode,
    )


def grouped_separable(
    in_channels: int,
    out_channels: int,
    kernel_size: int | Pair,
    groups: int,
    *,
    depth_multiplier: int = 1,
    stride: int | Pair = 1,
    padding: Any = "valid",
    dilation: int | Pair = 1,
    bias_policy: BiasPolicy = "pytorch",
    padding_mode: str = "zeros",
) -> LayerSpec:
    """Grouped depthwise-separable convolution: depthwise, then a pointwise conv with `groups` groups."""
    k, s, p, d = _common(kernel_size, stride, padding, dilation, padding_mode)
    cin = positive_int("in_channels", in_channels)
    m = positive_int("depth_multiplier", depth_multiplier)
    g = positive_int("groups", groups)
    dw_bias, pw_bias = _separable_biases(bias_policy)
    mid = cin * m
    if mid % g:
        raise config_error(
            "`groups` must divide the depthwise output channels (in_channels·depth_multiplier).",
            in_channels=cin,
            depth_multiplier=m,
            groups=g,
        )
    dw = Conv2dSpec(cin, mid, k, s, p, d, cin, dw_bias, "depthwise")
    pw = Conv2dSpec(mid, out_channels, (1, 1), (1, 1), VALID, (1, 1), g, pw_bias, "pointwise")
    kind: Kind = "separable" if g == 1 else "grouped-separable"
    return LayerSpec(kind, (dw, pw), depth_multiplier=m, bias_policy=bias_policy)


def make_spec(
    kind: str,
    in_channels: int,
    out_channels: int | None = None,
    kernel_size: int | Pair | None = None,
    *,
    stride: int | Pair = 1,
    padding: Any = "valid",
    dilation: int | Pair = 1,
    groups: int = 1,
    depth_multiplier: int = 1,
    bias: bool = True,
    bias_policy: BiasPolicy | None = None,
    padding_mode: str = "zeros",
) -> LayerSpec:
    """Build the spec of any variant by name (the command line's entry point).

    `out_channels` may be omitted for depthwise (it is in_channels·depth_multiplier). For separable kinds,
    `bias_policy` defaults to 'pytorch', or 'none' when `bias` is False.
    """
    if kind not in KINDS:
        raise config_error(f"`kind` must be one of {', '.join(KINDS)}.", kind=kind)
    if kernel_size is None:
        if kind != "pointwise":
            raise config_error(f"`kernel_size` is required for a {kind} convolution.", kernel_size=None)
        kernel_size = 1
    k = pair("kernel_size", kernel_size)
    positive_int("groups", groups)
    positive_int("depth_multiplier", depth_multiplier)
    if kind == "pointwise" and k != (1, 1):
        raise config_error("A pointwise convolution has a 1x1 kernel.", kernel_size=kernel_size)
    if kind == "pointwise" and pair("dilation", dilation) != (1, 1):
        raise config_error("A pointwise convolution's 1x1 kernel takes no dilation.", dilation=dilation)
    if kind in ("standard", "grouped", "pointwise") and depth_multiplier != 1:
        raise config_error(
            "`depth_multiplier` applies only to depthwise, separable and grouped-separable convolutions.",
            kind=kind,
            depth_multiplier=depth_multiplier,
        )
    if kind not in ("separable", "grouped-separable") and bias_policy is not None:
        raise config_error(
            "`bias_policy` applies only to separable and grouped-separable convolutions (use `bias`).",
            kind=kind,
            bias_policy=bias_policy,
        )
    if kind == "depthwise":
        if out_channels is not None:
            positive_int("out_channels", out_channels)
        if groups != 1 and groups != in_channels:
            raise config_error(
                "A depthwise convolution has groups = in_channels (leave `groups` unset).",
                in_channels=in_channels,
                groups=groups,
            )
        if out_channels is not None and is_int(in_channels) and in_channels > 0:
            if out_channels % in_channels:
                raise config_error(
                    "A depthwise convolution's `out_channels` must be a multiple of `in_channels` "
                    "(out_channels = in_channels·depth_multiplier).",
                    in_channels=in_channels,
                    out_channels=out_channels,
                )
            implied = out_channels // in_channels
            if depth_multiplier not in (1, implied):
                raise config_error(
                    "`out_channels` and `depth_multiplier` disagree "
                    "(out_channels = in_channels·depth_multiplier).",
                    in_channels=in_channels,
                    out_channels=out_channels,
                    depth_multiplier=depth_multiplier,
                )
            depth_multiplier = implied
        return depthwise(
            in_channels,
            k,
            depth_multiplier=depth_multiplier,
            stride=stride,
            padding=padding,
            dilation=dilation,
            bias=bias,
            padding_mode=padding_mode,
        )
    if out_channels is None:
        raise config_error(f"`out_channels` is required for a {kind} convolution.", out_channels=None)
    if kind == "standard":
        if groups != 1:
            raise config_error("A standard convolution has groups=1 (use kind 'grouped').", groups=groups)
        return standard(
            in_channels,
            out_channels,
            k,
            stride=stride,
            padding=padding,
            dilation=dilation,
            bias=bias,
            padding_mode=padding_mode,
        )
    if kind == "grouped":
        return grouped(
            in_channels,
            out_channels,
            k,
            groups,
            stride=stride,
            padding=padding,
            dilation=dilation,
            bias=bias,
            padding_mode=padding_mode,
        )
    if kind == "pointwise":
        return pointwise(
            in_channels,
            out_channels,
            stride=stride,
            bias=bias,
            groups=groups,
            padding=padding,
            padding_mode=padding_mode,
        )
    if bias is False and bias_policy not in (None, "none"):
        raise config_error(
            "`bias=False` contradicts `bias_policy` (use bias_policy='none', or leave it unset).",
            bias=bias,
            bias_policy=bias_policy,
        )
    policy: Any = bias_policy if bias_policy is not None else ("pytorch" if _bias_flag(bias) else "none")
    if kind == "separable":
        if groups != 1:
            raise config_error(
                "A separable convolution has groups=1 (use kind 'grouped-separable').", groups=groups
            )
        return separable(
            in_channels,
            out_channels,
            k,
            depth_multiplier=depth_multiplier,
            stride=stride,
            padding=padding,
            dilation=dilation,
            bias_policy=policy,
            padding_mode=padding_mode,
        )
    return grouped_separable(
        in_channels,
        out_channels,
        k,
        groups,
        depth_multiplier=depth_multiplier,
        stride=stride,
        padding=padding,
        dilation=dilation,
        bias_policy=policy,
        padding_mode=padding_mode,
    )
