"""Frozen specs of convolution layers: one `Conv2dSpec` per primitive conv, `LayerSpec` per variant.

A variant (standard, grouped, depthwise, pointwise, separable, grouped-separable; dilation on any of
them) is a tuple of primitive stages. The factories that build and validate them are in
`convwise.core.factories` (`standard` … `grouped_separable`, `make_spec`).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, Literal

from convwise.core.errors import config_error
from convwise.core.padding import VALID, Padding
from convwise.core.validate import Pair, pair, positive_int

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

    >>> from convwise.core import make_spec
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

    def window(self) -> dict[str, Any]:
        """Stride, padding (with its mode) and dilation of the spatial stage, as `make_spec` keywords.

        Another variant built with them slides the same window over the input, so it has the same output
        size (what a what-if needs).

        >>> from convwise.core import make_spec
        >>> sorted(make_spec("standard", 4, 8, 3, stride=2, padding="same").window())
        ['dilation', 'padding', 'padding_mode', 'stride']
        """
        st = self.spatial
        return {
            "stride": st.stride,
            "padding": st.padding,
            "dilation": st.dilation,
            "padding_mode": st.padding.mode,
        }

    @property
    def is_composite(self) -> bool:
        """True for separable kinds (two stages)."""
        return len(self.stages) > 1

    def params(self) -> int:
        """Weight and bias elements of every stage (no input needed).

        >>> from convwise.core import make_spec
        >>> make_spec("separable", 16, 32, 3, bias_policy="pytorch").params()  # 160 + 544
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

        >>> from convwise.core import make_spec
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
