"""Conv + activation: each 2-d conv one oneDNN call with its activation fused, or the activation in place.

`fuse_conv_activations` replaces each conv by a `FusedConv2d` (weights prepacked once, the ReLU/ReLU6 of
`convwise.layers.families.CONV_FUSED_ACTIVATIONS` that consumes its output applied as oneDNN's post-op).
Where that is not used, `inplace_activations` switches `ReLU(inplace=True)` where its input is a conv's
fresh output: after BatchNorm folding a `conv -> ReLU` pair writes the conv output once and reads it once
more to clip it; in place saves the second buffer. Both are only safe when nothing else reads the conv
output, so a pair is taken only when:

- in one forward pass on an example (`convwise.profile.trace.trace_calls`), the activation receives exactly
  the tensor object a conv module returned (possibly through `nn.Identity`, what a folded BatchNorm becomes),
  and each of the two modules runs exactly once;
- afterwards, the model's output on the example matches (bit-identical for in-place, within the tolerance
  for fusion) and the example input is unchanged — otherwise every change is undone.
"""

from __future__ import annotations

from collections import Counter, OrderedDict

import torch
from torch import nn

from convwise.layers.families import CONV_FUSED_ACTIVATIONS
from convwise.layers.families import CONVS as _CONVS
from convwise.layers.families import INPLACE_ACTIVATIONS as _ACTS
from convwise.profile.trace import trace_calls


def _candidates(model: nn.Module, example: torch.Tensor) -> list[str]:
    def wanted(m: nn.Module) -> bool:
        return isinstance(m, _CONVS) or (isinstance(m, _ACTS) and not getattr(m, "inplace", True))

    calls, _ = trace_calls(model, example, modules=[(n, m) for n, m in model.named_modules() if wanted(m)])
    count = Counter(c.name for c in calls)
    if any(count[c.name] != 1 for c in calls if isinstance(c.module, _CONVS)):
        return []  # a conv runs twice: its outputs could be reused in ways one pass does not show
    conv_outputs = {id(c.output) for c in calls if isinstance(c.module, _CONVS)}  # all kept alive
    return [
        c.name
        for c in calls
        if isinstance(c.module, _ACTS)
        and len(c.args) == 1
        and id(c.input) in conv_outputs
        and count[c.name] == 1
    ]


def inplace_activations(model: nn.Module, example: torch.Tensor) -> list[str]:
    """Switch activations that directly consume a conv's output to `inplace=True`; return their names.

    Args:
        model: the (eval-mode, BatchNorm-folded) module, changed in place.
        example: one input the model accepts (not modified).

    Returns:
        Qualified names of the activations switched (empty when the check on `example` fails).

    Example:
        >>> from torch import nn
        >>> net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.ReLU()).eval()
        >>> inplace_activations(net, torch.randn(1, 3, 8, 8))  # the second ReLU reads the first's output
        ['1']
    """
    names = _candidates(model, example)
    if not names:
        return []
    modules = dict(model.named_modules())
    probe = example.clone()
    with torch.no_grad():
        before = model(probe)
        for n in names:
            modules[n].inplace = True  # type: ignore[assignment]
        after = model(probe)
    same = (
        isinstance(before, torch.Tensor)
        and isinstance(after, torch.Tensor)
        and torch.equal(before, after)
        and torch.equal(probe, example)
    )
    if not same:
        for n in names:
            modules[n].inplace = False  # type: ignore[assignment]
        return []
    return names


def post_op(act: nn.Module) -> tuple[str, list[float]] | None:
    """oneDNN post-op name and scalars of an activation deploy fuses, else None.

    The activations are `convwise.layers.families.CONV_FUSED_ACTIVATIONS` (ReLU, and ReLU6/Hardtanh as
    oneDNN's `hardtanh` with their bounds).

    Example:
        >>> from torch import nn
        >>> post_op(nn.ReLU6()), post_op(nn.ReLU()), post_op(nn.GELU())
        (('hardtanh', [0.0, 6.0]), ('relu', []), None)
    """
    if type(act) not in CONV_FUSED_ACTIVATIONS:
        return None
    if isinstance(act, nn.Hardtanh):  # ReLU6 is a Hardtanh(0, 6)
        return "hardtanh", [float(act.min_val), float(act.max_val)]
    return "relu", []


#: torch versions whose private oneDNN ops (`torch.ops.mkldnn._reorder_convolution_weight`,
#: `_convolution_pointwise`, what Inductor's freezing emits) `FusedConv2d` calls with the signature it uses.
#: Outside this range (or in a build without them) nothing is fused: the plain convs run.
ONEDNN_TORCH_VERSIONS: tuple[tuple[int, int], tuple[int, int]] = ((2, 1), (2, 13))


def torch_version() -> tuple[int, int]:
    """(major, minor) of the running torch.

    Example:
        >>> torch_version() >= (2, 0)
        True
    """
    major, minor = torch.__version__.split("+")[0].split(".")[:2]
    return int(major), int("".join(ch for ch in minor if ch.isdigit()) or 0)


def onednn_ops_usable() -> bool:
    """True when this torch has oneDNN and its version is in `ONEDNN_TORCH_VERSIONS`.

    Example:
        >>> isinstance(onednn_ops_usable(), bool)
        True
    """
    low, high = ONEDNN_TORCH_VERSIONS
    if not low <= torch_version() <= high or not torch.backends.mkldnn.is_available():
        return False
    ops = torch.ops.mkldnn
    return hasattr(ops, "_convolution_pointwise") and hasattr(ops, "_reorder_convolution_weight")


#: Packed weight copies a `FusedConv2d` keeps (least recently used dropped first): one per thread count and
#: input shape seen, so a server fed many shapes does not grow without bound.
PACKED_CACHE_SIZE = 8


class FusedConv2d(nn.Conv2d):
    """A `Conv2d` run as one oneDNN primitive: weights prepacked once, the activation applied in its post-op.

    It is what Inductor's `freezing` emits (`torch.ops.mkldnn._convolution_pointwise`), without compiling.
    The weight stays a parameter (state dict, hooks, cost models see an ordinary conv); packed copies are
    made on the first call per thread count and input shape (at most `PACKED_CACHE_SIZE`, least recently
    used dropped first), and dropped when the module is copied.
    Inference only.

    Attributes:
        post_op: the fused activation ("none", "relu", "hardtanh").
        post_scalars: its parameters (hardtanh's min and max).
    """

    post_op: str
    post_scalars: list[float]
    _packed: OrderedDict[tuple[int, tuple[int, ...]], torch.Tensor]

    @classmethod
    def from_conv(
        cls, conv: nn.Conv2d, post_op: str = "none", scalars: list[float] | None = None
    ) -> FusedConv2d:
        """A fused copy of `conv` (sharing its weight and bias tensors)."""
        new = cls(
            conv.in_channels,
            conv.out_channels,
            conv.kernel_size,  # type: ignore[arg-type]
            stride=conv.stride,  # type: ignore[arg-type]
            padding=conv.padding,  # type: ignore[arg-type]
            dilation=conv.dilation,  # type: ignore[arg-type]
            groups=conv.groups,
            bias=conv.bias is not None,
            padding_mode=conv.padding_mode,
            device="meta",
        )
        new.weight = conv.weight
        new.bias = conv.bias
        new.post_op = post_op
        new.post_scalars = list(scalars or [])
        new._packed = OrderedDict()
        return new

    def __getstate__(self) -> dict[str, object]:
        state = super().__getstate__()
        return {**state, "_packed": OrderedDict()}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Convolution + bias + activation in one oneDNN call (prepacked weight)."""
        # oneDNN picks the packed layout for the thread count and input shape it is given: a weight packed
        # for 2 threads ran 5x slower at 1 thread. One packed copy per (threads, input shape), as Inductor.
        key = (torch.get_num_threads(), tuple(x.shape))
        packed = self._packed.get(key)
        if packed is None:
            packed = torch.ops.mkldnn._reorder_convolution_weight(
                self.weight.detach(),
                list(self.padding),
                list(self.stride),
                list(self.dilation),
                self.groups,
                list(x.shape),
            )
            self._packed[key] = packed
            if len(self._packed) > PACKED_CACHE_SIZE:  # variable input shapes: keep the most recent ones
                self._packed.popitem(last=False)
        else:
            self._packed.move_to_end(key)
        return torch.ops.mkldnn._convolution_pointwise(
            x,
            packed,
            self.bias,
            list(self.padding),
            list(self.stride),
            list(self.dilation),
            self.groups,
            self.post_op,
            self.post_scalars,
            "",
        )

    def activation(self, x: torch.Tensor) -> torch.Tensor:
        """The fused activation alone, e.g. after an unfused conv that stands in for this one."""
        if self.post_op == "relu":
            return torch.relu(x)
        if self.post_op == "hardtanh":
            return torch.nn.functional.hardtanh(x, *self.post_scalars)
        return x

    def extra_repr(self) -> str:
        return super().extra_repr() + f", fused={self.post_op}"


def _fusable(conv: nn.Module, x: torch.Tensor) -> bool:
    return (
        type(conv) is nn.Conv2d
        and conv.padding_mode == "zeros"
        and not isinstance(conv.padding, str)
        and conv.weight.dtype == torch.float32
        and conv.weight.device.type == "cpu"
        and x.dtype == torch.float32
        and x.device.type == "cpu"
    )


def _set_child(root: nn.Module, target: nn.Module, new: nn.Module) -> None:
    for mod in root.modules():
        for name, child in mod.named_children():
            if child is target:
                setattr(mod, name, new)


def output_unchanged(
    model: nn.Module, example: torch.Tensor, before: torch.Tensor, *, rtol: float, atol: float
) -> bool:
    """Whether the rewritten `model` still gives `before` on `example` (within rtol/atol) and leaves the
    example untouched; an error (an op this torch build does not have) counts as a change."""
    probe = example.clone()
    try:
        with torch.no_grad():
            after = model(probe)
    except (RuntimeError, TypeError, AttributeError):
        return False
    return (
        isinstance(after, torch.Tensor)
        and torch.allclose(after, before, rtol=rtol, atol=atol)
        and torch.equal(probe, example)
    )


def fuse_conv_activations(
    model: nn.Module, example: torch.Tensor, *, rtol: float = 1e-4, atol: float = 1e-5
) -> dict[str, str | None]:
    """Replace each 2-d conv by a `FusedConv2d` (prepacked oneDNN weights), with the activation of
    `convwise.layers.families.CONV_FUSED_ACTIVATIONS` that consumes its output folded into it (and replaced
    by `nn.Identity`).

    Pairs are found like `inplace_activations` does (the activation receives exactly the tensor the conv
    returned, each runs once). The model's output on `example` is then compared with the unfused one
    (within `rtol`/`atol`, and the example unchanged); on a mismatch or an error, everything is undone.

    Args:
        model: the eval-mode, BatchNorm-folded module, changed in place.
        example: one float32 CPU input (the layout used later, e.g. channels-last).

    Returns:
        Qualified name of each conv replaced → the name of the activation fused into it (None when the
        conv had none); empty when this torch build has no usable oneDNN ops or the check fails.

    Example:
        >>> import torch
        >>> from torch import nn
        >>> net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Conv2d(4, 4, 1)).eval()
        >>> fuse_conv_activations(net, torch.randn(1, 3, 8, 8))
        {'0': '1', '2': None}
        >>> net
        Sequential(
          (0): FusedConv2d(3, 4, kernel_size=(3, 3), stride=(1, 1), fused=relu)
          (1): Identity()
          (2): FusedConv2d(4, 4, kernel_size=(1, 1), stride=(1, 1), fused=none)
        )
    """
    if not onednn_ops_usable():
        return {}
    hooked = [(n, m) for n, m in model.named_modules() if isinstance(m, nn.Conv2d) or post_op(m) is not None]
    calls, before = trace_calls(model, example, modules=hooked)
    count = Counter(c.name for c in calls)
    if any(n != 1 for n in count.values()) or not isinstance(before, torch.Tensor):
        return {}
    conv_of = {id(c.output): c.name for c in calls if isinstance(c.module, nn.Conv2d)}  # outputs kept alive
    act_of = {
        conv_of[id(c.input)]: c
        for c in calls
        if post_op(c.module) is not None and len(c.args) == 1 and id(c.input) in conv_of
    }
    convs = [c for c in calls if isinstance(c.module, nn.Conv2d) and _fusable(c.module, c.input)]
    undo: list[tuple[nn.Module, nn.Module]] = []  # (new, old)
    fused: dict[str, str | None] = {}
    for conv in convs:
        act = act_of.get(conv.name)
        op, scalars = post_op(act.module) if act is not None else ("none", [])  # type: ignore[misc]
        new = FusedConv2d.from_conv(conv.module, op, scalars)  # type: ignore[arg-type]
        _set_child(model, conv.module, new)
        undo.append((new, conv.module))
        if act is not None:
            ident = nn.Identity()
            _set_child(model, act.module, ident)
            undo.append((ident, act.module))
        fused[conv.name] = act.name if act is not None else None
    if not output_unchanged(model, example, before, rtol=rtol, atol=atol):
        for new_module, old in undo:
            _set_child(model, new_module, old)
        return {}
    return fused
