"""TF-"same" padding without the padding copy: the asymmetric zero padding moved into the conv's kernel.

convwise's `SpecConv2d` (layers/conv.py) pads a stride-2 "same" conv asymmetrically — e.g. 0 rows on top
and 1 below on an even input — with `F.pad` before the conv, because `nn.Conv2d` pads symmetrically only.
That `F.pad` writes a full padded copy of the activation on every call: for MobileNet's stride-2
depthwise convs, the pad and the conv together took about 3× the conv alone (batch 1 and 32, measured).

The same result without the copy: pad symmetrically by `max(top, bottom)` and give the kernel
`|bottom − top|` extra rows of zeros on the side that has less padding (likewise for columns). A window
of the wider kernel then starts `bottom − top` rows earlier, and the real taps sit exactly where the TF
window's do; the output size is the same, `(H + top + bottom − k) // s + 1`. The extra taps multiply
zero weights by real inputs, which adds exact zeros (a NaN or ±inf input next to the edge would turn the
extra product into NaN; with finite inputs the result is the same products summed). Depthwise convs are
memory-bound, so the extra multiply-adds (16 instead of 9 for 3×3) cost far less than the copy.

The pads depend on the input size: a `KernelPaddedConv2d` is made for the input size seen on the example
and runs the original module for any other size (followed by the activation, if `deploy.fuse` later
fused one into the wide conv).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from convwise.layers.conv import SpecConv2d
from convwise.profile.trace import trace_calls


class KernelPaddedConv2d(nn.Module):
    """A `SpecConv2d` whose asymmetric zero padding is in the kernel, for one input size.

    Attributes:
        conv: the plain `nn.Conv2d` with the widened kernel and symmetric padding (the one that runs).
        original: the `SpecConv2d` it replaces, run for any other input size.
        size: the input (H, W) `conv` is valid for.
    """

    def __init__(self, original: SpecConv2d, conv: nn.Conv2d, size: tuple[int, int]) -> None:
        super().__init__()
        self.conv = conv
        self.original = original
        self.size = size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The conv of `x` (TF "same" padding), without a padded copy when `x` has `size`."""
        if x.shape[-2:] == self.size:
            return self.conv(x)
        out = self.original(x)
        activation = getattr(self.conv, "activation", None)  # a FusedConv2d's fused ReLU
        return activation(out) if activation is not None else out

    def extra_repr(self) -> str:
        return f"size={self.size}"


def kernel_padded(conv: nn.Conv2d, pads: tuple[int, int, int, int]) -> nn.Conv2d | None:
    """The conv computing `conv(F.pad(x, (left, right, top, bottom)))` from `x` itself, or None.

    Args:
        conv: an unpadded 2-d conv (padding 0, dilation 1, zeros padding mode).
        pads: (top, bottom, left, right) zero padding.

    Returns:
        A new `nn.Conv2d` (weight padded with zeros, bias shared, same memory format), or None when
        `conv` is not of that kind.

    Example:
        >>> import torch
        >>> conv = torch.nn.Conv2d(4, 4, 3, stride=2, groups=4)
        >>> wide = kernel_padded(conv, (0, 1, 0, 1))
        >>> wide.kernel_size, wide.padding
        ((4, 4), (1, 1))
        >>> x = torch.randn(1, 4, 8, 8)
        >>> torch.allclose(wide(x), conv(torch.nn.functional.pad(x, (0, 1, 0, 1))), atol=1e-6)
        True
    """
    if (
        type(conv) is not nn.Conv2d
        or conv.padding != (0, 0)
        or conv.dilation != (1, 1)
        or conv.padding_mode != "zeros"
        or min(pads) < 0
    ):
        return None
    top, bottom, left, right = pads
    rows, cols = bottom - top, right - left  # extra kernel rows/cols: > 0 on top/left, < 0 below/right
    kh, kw = conv.kernel_size
    new = nn.Conv2d(
        conv.in_channels,
        conv.out_channels,
        (kh + abs(rows), kw + abs(cols)),
        stride=conv.stride,  # type: ignore[arg-type]
        padding=(max(top, bottom), max(left, right)),
        groups=conv.groups,
        bias=conv.bias is not None,
        device="meta",
    )
    weight = conv.weight.detach()
    weight = F.pad(weight, (max(cols, 0), max(-cols, 0), max(rows, 0), max(-rows, 0)))
    channels_last = conv.weight.is_contiguous(memory_format=torch.channels_last) and weight.dim() == 4
    if channels_last:
        weight = weight.contiguous(memory_format=torch.channels_last)
    new.weight = nn.Parameter(weight, requires_grad=conv.weight.requires_grad)
    new.bias = conv.bias
    return new


def absorb_padding(model: nn.Module, example: torch.Tensor) -> list[str]:
    """Replace each `SpecConv2d` that pads with zeros before its conv by a `KernelPaddedConv2d`.

    The input size of each is the one it receives on `example`. Changed in place.

    Args:
        model: the eval-mode (BatchNorm-folded) module.
        example: one input the model accepts (not modified).

    Returns:
        Qualified names of the `SpecConv2d` modules replaced.

    Example:
        >>> import torch
        >>> from convwise.layers import DepthwiseConv2d
        >>> net = torch.nn.Sequential(DepthwiseConv2d(8, 3, stride=2, padding="same")).eval()
        >>> absorb_padding(net, torch.randn(1, 8, 16, 16))
        ['0.conv']
    """
    specs = [(n, m) for n, m in model.named_modules() if isinstance(m, SpecConv2d)]
    if not specs:
        return []
    calls, _ = trace_calls(model, example, modules=specs)
    sizes: dict[str, set[tuple[int, int]]] = {}
    for call in calls:
        if isinstance(call.input, torch.Tensor) and call.input.dim() == 4:
            sizes.setdefault(call.name, set()).add((int(call.input.shape[-2]), int(call.input.shape[-1])))
    done: list[str] = []
    for name, spec_conv in specs:
        seen = sizes.get(name, set())
        if len(seen) != 1 or spec_conv.spec.padding.mode != "zeros":
            continue
        size = next(iter(seen))
        pads = spec_conv.spec.pads(size)
        if not any(pads):
            continue
        wide = kernel_padded(spec_conv.conv, pads)
        if wide is None:
            continue
        parent_name, _, attr = name.rpartition(".")
        parent = model.get_submodule(parent_name)
        setattr(parent, attr, KernelPaddedConv2d(spec_conv, wide, size))
        done.append(name)
    return done
