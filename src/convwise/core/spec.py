"""Frozen specs of convolution layers: one `Conv2dSpec` per primitive conv, `LayerSpec` per variant.

A variant (standard, grouped, depthwise, pointwise, separable, grouped-separable; dilation on any of
them) is a tuple of primitive stages. Factories (`standard`, `grouped`, `depthwise`, `pointwise`,
`separable`, `grouped_separable`, `make_spec`) validate every argument and normalise ints to per-axis
pairs, so a spec that exists is valid.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, Literal

from convwise.core.errors import config_error
from convwise.core.padding import VALID, Padding, parse_padding
from convwise.core.validate import Pair, is_int, pair, positive_int

Kind = Literal["standard", "grouped", "depthwise", "pointwise", "separable", "grouped-separable"]
KINDS: tuple[str, ...] = ("standard", "grouped", "depthwise", "pointwise", "separable", "grouped-separable")
BiasPolicy = Literal["pytorch", "keras", "none"]
BIAS_POLICIES: tuple[str, ...] = ("pytorch", "keras", "none")
#: The roles a primitive stage can play inside a variant.
Role = Literal["conv", "depthwise", "pointwise"]


@dataclass(frozen=True)
class Conv2dSpec:
    """One primitive 2-D convolution, exactly the arguments of `torch.nn.Conv2d` plus a padding policy.

    Shape:
        input (N, in_channels, H, W) → output (N, out_channels, Ho, Wo).
    """

    in_channels: int
    out_channels: int
    kernel_size: Pair
    stride: Pair = (1, 1)
    padding: Padding = VALID
    dilation: Pair = (1, 1)
    groups: int = 1
    bias: bool = True
    role: Role = "conv"

    def __post_init__(self) -> None:
        positive_int("in_channels", self.in_channels)
        positive_int("out_channels", self.out_channels)
        # ints and lists are accepted and stored as (height, width) tuples, so the spec stays hashable
        object.__setattr__(self, "kernel_size", pair("kernel_size", self.kernel_size))
        object.__setattr__(self, "stride", pair("stride", self.stride))
        object.__setattr__(self, "dilation", pair("dilation", self.dilation))
        positive_int("groups", self.groups)
        if self.role not in ("conv", "depthwise", "pointwise"):
            raise config_error("`role` must be one of conv, depthwise, pointwise.", role=self.role)
        if not isinstance(self.bias, bool):
            raise config_error("`bias` must be True or False.", bias=self.bias)
        if not isinstance(self.padding, Padding):
            raise config_error("`padding` must be a Padding (use parse_padding).", padding=self.padding)
        if self.in_channels % self.groups:
            raise config_error(
                "`groups` must divide `in_channels`.", in_channels=self.in_channels, groups=self.groups
            )
        if self.out_channels % self.groups:
            raise config_error(
                "`groups` must divide `out_channels`.", out_channels=self.out_channels, groups=self.groups
            )

    @property
    def channels_per_group(self) -> int:
        """Input channels each filter sees: in_channels / groups."""
        return self.in_channels // self.groups

    @property
    def effective_kernel(self) -> Pair:
        """Kernel extent with dilation: d·(k − 1) + 1 per axis."""
        kh, kw = self.kernel_size
        dh, dw = self.dilation
        return (dh * (kh - 1) + 1, dw * (kw - 1) + 1)

    def pads(self, size: Pair) -> tuple[int, int, int, int]:
        """Resolved (top, bottom, left, right) padding for an input of `size` = (H, W)."""
        return self.padding.resolve(size, self.kernel_size, self.stride, self.dilation)

    def output_size(self, size: Pair) -> Pair:
        """(Ho, Wo) for an input of `size` = (H, W): floor((H + pad − d·(k−1) − 1)/s) + 1 per axis.

        Raises:
            ConfigError: if the (dilated) kernel is larger than the padded input.
        """
        top, bottom, left, right = self.pads(size)
        mode = self.padding.mode
        if mode in ("reflect", "circular"):
            # PyTorch's rule: reflect needs each pad < the size along its axis, circular pad ≤ size
            for axis, n, amounts in (("height", size[0], (top, bottom)), ("width", size[1], (left, right))):
                limit = n - 1 if mode == "reflect" else n
                if max(amounts) > limit:
                    rule = "smaller than" if mode == "reflect" else "at most"
                    raise config_error(
                        f"`{mode}` padding must be {rule} the input along the {axis} (each side ≤ {limit}).",
                        input_size=size,
                        padding=(top, bottom, left, right),
                        padding_mode=mode,
                    )
        out = []
        for axis, n, pad, ek, s in (
            ("height", size[0], top + bottom, self.effective_kernel[0], self.stride[0]),
            ("width", size[1], left + right, self.effective_kernel[1], self.stride[1]),
        ):
            if n + pad < ek:
                raise config_error(
                    f"The kernel (effective size d·(k−1)+1 = {ek}) is larger than the padded input along "
                    f"the {axis} ({n} + padding {pad} = {n + pad}).",
                    kernel_size=self.kernel_size,
                    dilation=self.dilation,
                    input_size=size,
                    padding=self.padding.describe(),
                )
            out.append((n + pad - ek) // s + 1)
        return (out[0], out[1])

    def weight_params(self) -> int:
        """Cout·(Cin/g)·kh·kw."""
        return self.out_channels * self.channels_per_group * self.kernel_size[0] * self.kernel_size[1]

    def bias_params(self) -> int:
        """Cout if the conv has a bias, else 0."""
        return self.out_channels if self.bias else 0

    def torch_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of `torch.nn.Conv2d` (padding 0: padding is applied by the layer)."""
        return {
            "in_channels": self.in_channels,
            "out_channels": self.out_channels,
            "kernel_size": self.kernel_size,
            "stride": self.stride,
            "dilation": self.dilation,
            "groups": self.groups,
            "bias": self.bias,
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return {
            "role": self.role,
            "in_channels": self.in_channels,
            "out_channels": self.out_channels,
            "kernel_size": list(self.kernel_size),
            "stride": list(self.stride),
            "padding": self.padding.to_dict(),
            "dilation": list(self.dilation),
            "groups": self.groups,
            "bias": self.bias,
        }


@dataclass(frozen=True)
class LayerSpec:
    """A convolution variant: its kind and its primitive stages (one, or depthwise then pointwise).

    `groups` is the variant's g (`make_spec(..., groups=g)`, `--groups`), derived from the stages; a
    stage's own `Conv2dSpec.groups` is `nn.Conv2d`'s argument (Cin for a depthwise stage).

    >>> make_spec("grouped-separable", 4, 10, 3, groups=2).groups, make_spec("depthwise", 4, 8, 3).groups
    (2, 1)
    """

    kind: Kind
    stages: tuple[Conv2dSpec, ...]
    depth_multiplier: int = 1
    bias_policy: BiasPolicy | None = None
    meta: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise config_error(f"`kind` must be one of {', '.join(KINDS)}.", kind=self.kind)
        if not self.stages:
            raise config_error("A layer spec needs at least one stage.", stages=self.stages)
        for a, b in itertools.pairwise(self.stages):
            if a.out_channels != b.in_channels:
                raise config_error(
                    "Consecutive stages must chain channels.",
                    out_channels=a.out_channels,
                    in_channels=b.in_channels,
                )

    @property
    def groups(self) -> int:
        """g: the groups of a grouped or pointwise conv and of a grouped-separable's pointwise stage; else 1.

        Standard, depthwise and separable variants have no g (a depthwise stage's `nn.Conv2d` groups,
        Cin, is its `Conv2dSpec.groups`).
        """
        if self.kind in ("grouped", "pointwise", "grouped-separable"):
            return self.stages[-1].groups
        return 1

    @property
    def in_channels(self) -> int:
        """Input channels of the first stage."""
        return self.stages[0].in_channels

    @property
    def out_channels(self) -> int:
        """Output channels of the last stage."""
        return self.stages[-1].out_channels

    @property
    def spatial(self) -> Conv2dSpec:
        """The stage that carries the kernel, stride, padding and dilation (the first)."""
        return self.stages[0]

    @property
    def kernel_size(self) -> Pair:
        """Kernel size of the spatial stage."""
        return self.spatial.kernel_size

    @property
    def stride(self) -> Pair:
        """Stride of the spatial stage."""
        return self.spatial.stride

    @property
    def dilation(self) -> Pair:
        """Dilation of the spatial stage."""
        return self.spatial.dilation

    @property
    def padding(self) -> Padding:
        """Padding policy of the spatial stage."""
        return self.spatial.padding

    @property
    def is_composite(self) -> bool:
        """True for separable kinds (two stages)."""
        return len(self.stages) > 1

    def params(self) -> int:
        """Weight and bias elements of every stage (no input needed).

        >>> make_spec("separable", 16, 32, 3, bias_policy="pytorch").params()  # 160 + 544 (SPEC §4)
        704
        """
        return sum(stage.weight_params() + stage.bias_params() for stage in self.stages)

    def stage_sizes(self, size: Pair) -> list[tuple[Pair, Pair]]:
        """(input (H, W), output (Ho, Wo)) of every stage for an input of `size`."""
        out = []
        for stage in self.stages:
            nxt = stage.output_size(size)
            out.append((size, nxt))
            size = nxt
        return out

    def output_shape(self, input_shape: tuple[int, int, int]) -> tuple[int, int, int]:
        """Output (C, H, W) for an input (C, H, W).

        Raises:
            ConfigError: if the input channels do not match or the kernel does not fit.
        """
        c, h, w = input_shape
        if c != self.in_channels:
            raise config_error(
                "The input has a different number of channels than the layer expects.",
                input_channels=c,
                in_channels=self.in_channels,
            )
        size = self.stage_sizes((h, w))[-1][1]
        return (self.out_channels, size[0], size[1])

    def describe(self) -> str:
        """Short human description, e.g. 'separable 3x3, stride 2, padding same, bias pytorch, 4→10'."""
        kh, kw = self.kernel_size
        return (
            ", ".join([f"{self.kind} {kh}x{kw}", *self.settings()])
            + f", {self.in_channels}→{self.out_channels}"
        )

    def settings(self) -> list[str]:
        """The arguments `describe` names besides kind, kernel and channels: stride, dilation, padding, ….

        >>> make_spec("grouped", 4, 8, 3, groups=2, stride=2, bias=False).settings()
        ['stride 2x2', 'padding valid', 'groups 2', 'no bias']
        """
        parts = []
        if self.stride != (1, 1):
            parts.append("stride " + "x".join(map(str, self.stride)))
        if self.dilation != (1, 1):
            parts.append("dilation " + "x".join(map(str, self.dilation)))
        parts.append("padding " + self.padding.describe())
        if self.kind in ("grouped", "grouped-separable"):
            parts.append(f"groups {self.groups}")
        if self.depth_multiplier != 1:
            parts.append(f"depth multiplier {self.depth_multiplier}")
        if self.bias_policy is not None:
            parts.append(f"bias {self.bias_policy}")
        elif not self.stages[0].bias:
            parts.append("no bias")
        return parts

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return {
            "kind": self.kind,
            "in_channels": self.in_channels,
            "out_channels": self.out_channels,
            "groups": self.groups,
            "depth_multiplier": self.depth_multiplier,
            "bias_policy": self.bias_policy,
            "stages": [s.to_dict() for s in self.stages],
        }


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
