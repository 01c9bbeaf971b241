"""Convolution layers built from core specs: one primitive `SpecConv2d`, and one module per variant.

Each variant module keeps its primitive convs as named children (`conv`, or `depthwise` + `pointwise`),
each wrapping a plain `torch.nn.Conv2d`, so tools that know `nn.Conv2d` still see them.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from convwise.core import Conv2dSpec, LayerCost, LayerSpec, layer_cost, make_spec
from convwise.core.spec import BiasPolicy

_PAD_MODES = {"zeros": "constant", "reflect": "reflect", "replicate": "replicate", "circular": "circular"}


def _static_symmetric(spec: Conv2dSpec) -> tuple[int, int] | None:
    """(pad_h, pad_w) when padding is fixed and symmetric, so nn.Conv2d can apply it itself."""
    if spec.padding.kind == "same":
        if spec.stride != (1, 1):
            return None
        # at stride 1 the amounts do not depend on the input size
        t, b, l, r = spec.pads((spec.effective_kernel[0], spec.effective_kernel[1]))
    else:
        t, b, l, r = spec.pads((1, 1))
    if t == b and l == r:
        return (t, l)
    return None


class SpecConv2d(nn.Module):
    """One primitive convolution from a `Conv2dSpec`; pads asymmetrically (TF `same`) when needed.

    Shape:
        input (N, Cin, H, W) → output (N, Cout, Ho, Wo), Ho/Wo from `spec.output_size`.
    """

    def __init__(self, spec: Conv2dSpec, *, device: Any = None, dtype: torch.dtype | None = None) -> None:
        super().__init__()
        self.spec = spec
        static = _static_symmetric(spec)
        self._dynamic = static is None
        self._pads: dict[tuple[int, int], tuple[int, int, int, int]] = {}  # input (H, W) → F.pad amounts
        self.conv = nn.Conv2d(
            **spec.torch_kwargs(),
            padding=static if static is not None else 0,
            padding_mode=spec.padding.mode,
            device=device,
            dtype=dtype,
        )

    @property
    def weight(self) -> nn.Parameter:
        """The convolution weight (Cout, Cin/g, kh, kw)."""
        return self.conv.weight

    @property
    def bias(self) -> nn.Parameter | None:
        """The bias (Cout) or None."""
        return self.conv.bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self._dynamic:
            size = (int(x.shape[-2]), int(x.shape[-1]))
            pads = self._pads.get(size)
            if pads is None:  # resolved once per input size: this runs on every forward
                t, b, l, r = self.spec.pads(size)
                pads = self._pads[size] = (l, r, t, b)
            if any(pads):
                mode = _PAD_MODES[self.spec.padding.mode]
                x = F.pad(x, pads, mode=mode) if mode != "constant" else F.pad(x, pads)
        return self.conv(x)

    def extra_repr(self) -> str:
        return f"role={self.spec.role}, padding={self.spec.padding.describe()}"


class ConvVariant(nn.Module):
    """Base of the variant layers: holds the `LayerSpec` and the primitive stages as children."""

    spec: LayerSpec

    def __init__(self, spec: LayerSpec, *, device: Any = None, dtype: torch.dtype | None = None) -> None:
        super().__init__()
        self.spec = spec
        if spec.is_composite:
            self.depthwise = SpecConv2d(spec.stages[0], device=device, dtype=dtype)
            self.pointwise = SpecConv2d(spec.stages[1], device=device, dtype=dtype)
        else:
            self.conv = SpecConv2d(spec.stages[0], device=device, dtype=dtype)

    def stage_modules(self) -> list[SpecConv2d]:
        """The primitive stages in order."""
        return [self.depthwise, self.pointwise] if self.spec.is_composite else [self.conv]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for stage in self.stage_modules():
            x = stage(x)
        return x

    def cost(self, input_shape: tuple[int, int, int], *, batch: int = 1, dtype: str = "float32") -> LayerCost:
        """Exact cost of this layer on an input (C, H, W) — see `convwise.core.layer_cost`."""
        return layer_cost(self.spec, input_shape, batch=batch, dtype=dtype)

    def output_shape(self, input_shape: tuple[int, int, int]) -> tuple[int, int, int]:
        """Output (C, H, W) for an input (C, H, W), without running the layer."""
        return self.spec.output_shape(input_shape)

    def extra_repr(self) -> str:
        return self.spec.describe()


class StandardConv2d(ConvVariant):
    """Standard convolution: every filter sees every input channel.

    Cost: params ``Cout·Cin·kh·kw + Cout``; multiplications ``Cout·Ho·Wo·Cin·kh·kw``.

    >>> import torch
    >>> StandardConv2d(4, 10, 3)(torch.zeros(1, 4, 5, 5)).shape
    torch.Size([1, 10, 3, 3])
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        *,
        stride: Any = 1,
        padding: Any = "valid",
        dilation: Any = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        spec = make_spec(
            "standard",
            in_channels,
            out_channels,
            kernel_size,
            stride=stride,
            padding=padding,
            dilation=dilation,
            bias=bias,
            padding_mode=padding_mode,
        )
        super().__init__(spec, device=device, dtype=dtype)


class DilatedConv2d(StandardConv2d):
    """Dilated (atrous) standard convolution: taps spaced `dilation` apart, extent d·(k−1)+1.

    >>> import torch
    >>> DilatedConv2d(4, 10, 3, dilation=2)(torch.zeros(1, 4, 5, 5)).shape
    torch.Size([1, 10, 1, 1])
    """

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: Any, *, dilation: Any = 2, **kwargs: Any
    ) -> None:
        super().__init__(in_channels, out_channels, kernel_size, dilation=dilation, **kwargs)


class GroupedConv2d(ConvVariant):
    """Grouped convolution: `groups` independent convolutions on channel slices, concatenated.

    Cost: params ``Cout·(Cin/g)·kh·kw + Cout``; multiplications ``Cout·Ho·Wo·(Cin/g)·kh·kw``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        groups: int,
        *,
        stride: Any = 1,
        padding: Any = "valid",
        dilation: Any = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        spec = make_spec(
            "grouped",
            in_channels,
            out_channels,
            kernel_size,
            groups=groups,
            stride=stride,
            padding=padding,
            dilation=dilation,
            bias=bias,
            padding_mode=padding_mode,
        )
        super().__init__(spec, device=device, dtype=dtype)


class DepthwiseConv2d(ConvVariant):
    """Depthwise convolution: `depth_multiplier` k×k filters per input channel (Cout = m·Cin).

    Cost: params ``m·Cin·kh·kw + m·Cin``; multiplications ``m·Cin·Ho·Wo·kh·kw``.
    """

    def __init__(
        self,
        in_channels: int,
        kernel_size: Any,
        *,
        depth_multiplier: int = 1,
        stride: Any = 1,
        padding: Any = "valid",
        dilation: Any = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        spec = make_spec(
            "depthwise",
            in_channels,
            None,
            kernel_size,
            depth_multiplier=depth_multiplier,
            stride=stride,
            padding=padding,
            dilation=dilation,
            bias=bias,
            padding_mode=padding_mode,
        )
        super().__init__(spec, device=device, dtype=dtype)


class PointwiseConv2d(ConvVariant):
    """Pointwise (1×1) convolution: mixes channels.

    Cost: params ``Cout·Cin + Cout``; multiplications ``Cout·H·W·Cin``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        stride: Any = 1,
        bias: bool = True,
        groups: int = 1,
        device: Any = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        spec = make_spec("pointwise", in_channels, out_channels, stride=stride, bias=bias, groups=groups)
        super().__init__(spec, device=device, dtype=dtype)


class SeparableConv2d(ConvVariant):
    """Depthwise-separable convolution: depthwise k×k (stride, padding, dilation), then pointwise 1×1.

    `bias_policy`: 'pytorch' (both stages biased, the default), 'keras' (pointwise only, as Keras'
    `SeparableConv2D`) or 'none'.

    Cost: params ``m·Cin·kh·kw [+ m·Cin] + Cout·m·Cin [+ Cout]``; multiplications
    ``m·Cin·Ho·Wo·kh·kw + Cout·Ho·Wo·m·Cin``.

    >>> SeparableConv2d(16, 32, 3).cost((16, 8, 8)).counts.params
    704
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        *,
        depth_multiplier: int = 1,
        stride: Any = 1,
        padding: Any = "valid",
        dilation: Any = 1,
        bias_policy: BiasPolicy = "pytorch",
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        spec = make_spec(
            "separable",
            in_channels,
            out_channels,
            kernel_size,
            depth_multiplier=depth_multiplier,
            stride=stride,
            padding=padding,
            dilation=dilation,
            bias_policy=bias_policy,
            padding_mode=padding_mode,
        )
        super().__init__(spec, device=device, dtype=dtype)


class GroupedSeparableConv2d(ConvVariant):
    """Grouped depthwise-separable convolution: depthwise, then a pointwise conv with `groups` groups."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        groups: int,
        *,
        depth_multiplier: int = 1,
        stride: Any = 1,
        padding: Any = "valid",
        dilation: Any = 1,
        bias_policy: BiasPolicy = "pytorch",
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        spec = make_spec(
            "grouped-separable",
            in_channels,
            out_channels,
            kernel_size,
            groups=groups,
            depth_multiplier=depth_multiplier,
            stride=stride,
            padding=padding,
            dilation=dilation,
            bias_policy=bias_policy,
            padding_mode=padding_mode,
        )
        super().__init__(spec, device=device, dtype=dtype)


_CLASSES: dict[str, type[ConvVariant]] = {
    "standard": StandardConv2d,
    "grouped": GroupedConv2d,
    "depthwise": DepthwiseConv2d,
    "pointwise": PointwiseConv2d,
    "separable": SeparableConv2d,
    "grouped-separable": GroupedSeparableConv2d,
}


def build_layer(spec: LayerSpec, *, device: Any = None, dtype: torch.dtype | None = None) -> ConvVariant:
    """The module for any `LayerSpec` (its class matches `spec.kind`)."""
    cls = _CLASSES[spec.kind]
    layer = ConvVariant.__new__(cls)
    ConvVariant.__init__(layer, spec, device=device, dtype=dtype)
    return layer
