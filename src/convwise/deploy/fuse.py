"""In-place activations after convs: `ReLU(inplace=True)` where its input is a conv's fresh output.

After BatchNorm folding, a `conv -> ReLU` pair writes the conv output once and reads it once more to clip it;
`inplace=True` saves the second buffer (an allocation and a memory pass per layer on a memory-bound path).
That is only safe when nothing else reads the conv output, so an activation is switched only when:

- in one forward pass on an example, it receives exactly the tensor object a conv module returned (possibly
  through `nn.Identity`, what a folded BatchNorm becomes), and each of the two modules runs exactly once;
- after switching, the model's output on the example is bit-identical to before and the example input is
  unchanged — otherwise every switch is undone.
"""

from __future__ import annotations

import torch
from torch import nn

from convwise.layers.families import CONVS as _CONVS
from convwise.layers.families import INPLACE_ACTIVATIONS as _ACTS


def _candidates(model: nn.Module, example: torch.Tensor) -> list[str]:
    names = {m: n for n, m in model.named_modules()}
    conv_outputs: list[torch.Tensor] = []  # kept alive so `is` comparisons are meaningful
    calls: dict[nn.Module, int] = {}
    fed: dict[nn.Module, bool] = {}

    def after_conv(mod: nn.Module, _inp: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
        calls[mod] = calls.get(mod, 0) + 1
        conv_outputs.append(out)

    def before_act(mod: nn.Module, inp: tuple[torch.Tensor, ...]) -> None:
        calls[mod] = calls.get(mod, 0) + 1
        fed[mod] = len(inp) == 1 and any(inp[0] is t for t in conv_outputs)

    handles = []
    for m in model.modules():
        if isinstance(m, _CONVS):
            handles.append(m.register_forward_hook(after_conv))
        elif isinstance(m, _ACTS) and not getattr(m, "inplace", True):
            handles.append(m.register_forward_pre_hook(before_act))
    try:
        with torch.no_grad():
            model(example)
    finally:
        for h in handles:
            h.remove()
    if any(n != 1 for m, n in calls.items() if isinstance(m, _CONVS)):
        return []  # a conv runs twice: its outputs could be reused in ways one pass does not show
    return [names[m] for m, ok in fed.items() if ok and calls[m] == 1]


def inplace_activations(model: nn.Module, example: torch.Tensor) -> list[str]:
    """Switch activations that directly consume a conv's output to `inplace=True`; return their names.

    Args:
        model: the (eval-mode, BatchNorm-folded) module, changed in place.
        example: one input the model accepts (not modified).

    Returns:
        Qualified names of the activations switched (empty when the check on `example` fails).
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


#: oneDNN post-op name and scalars for the activations `fuse_conv_activations` folds into a conv.
def _post_op(act: nn.Module) -> tuple[str, list[float]] | None:
    if type(act) is nn.ReLU:
        return "relu", []
    if type(act) in (nn.ReLU6, nn.Hardtanh):
        return "hardtanh", [float(act.min_val), float(act.max_val)]  # type: ignore[arg-type]
    return None


class FusedConv2d(nn.Conv2d):
    """A `Conv2d` run as one oneDNN primitive: weights prepacked once, the activation applied in its post-op.

    It is what Inductor's `freezing` emits (`torch.ops.mkldnn._convolution_pointwise`), without compiling.
    The weight stays a parameter (state dict, hooks, cost models see an ordinary conv); packed copies are
    made on the first call per thread count and input shape, and dropped when the module is copied.
    Inference only.

    Attributes:
        post_op: the fused activation ("none", "relu", "hardtanh").
        post_scalars: its parameters (hardtanh's min and max).
    """

    post_op: str
    post_scalars: list[float]
    _packed: dict[tuple[int, tuple[int, ...]], torch.Tensor]

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
        new._packed = {}
        return new

    def __getstate__(self) -> dict[str, object]:
        state = super().__getstate__()
        return {**state, "_packed": {}}

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


def fuse_conv_activations(
    model: nn.Module, example: torch.Tensor, *, rtol: float = 1e-4, atol: float = 1e-5
) -> list[str]:
    """Replace each 2-d conv by a `FusedConv2d` (prepacked oneDNN weights), with the ReLU/ReLU6 that
    consumes its output folded into it (and replaced by `nn.Identity`); return the fused convs' names.

    Pairs are found like `inplace_activations` does (the activation receives exactly the tensor the conv
    returned, each runs once). The model's output on `example` is then compared with the unfused one
    (within `rtol`/`atol`, and the example unchanged); on a mismatch or an error, everything is undone.

    Args:
        model: the eval-mode, BatchNorm-folded module, changed in place.
        example: one float32 CPU input (the layout used later, e.g. channels-last).

    Returns:
        Qualified names of the convs replaced (empty when oneDNN is unavailable or the check fails).
    """
    if not torch.backends.mkldnn.is_available():
        return []
    names = {m: n for n, m in model.named_modules()}
    conv_out: dict[int, nn.Module] = {}
    kept: list[torch.Tensor] = []
    calls: dict[nn.Module, int] = {}
    act_of: dict[nn.Module, nn.Module] = {}
    seen_input: dict[nn.Module, torch.Tensor] = {}

    def after_conv(mod: nn.Module, inp: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
        calls[mod] = calls.get(mod, 0) + 1
        conv_out[id(out)] = mod
        kept.append(out)
        seen_input[mod] = inp[0]

    def before_act(mod: nn.Module, inp: tuple[torch.Tensor, ...]) -> None:
        calls[mod] = calls.get(mod, 0) + 1
        conv = conv_out.get(id(inp[0])) if len(inp) == 1 else None
        if conv is not None:
            act_of[conv] = mod

    handles = []
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            handles.append(m.register_forward_hook(after_conv))
        elif _post_op(m) is not None:
            handles.append(m.register_forward_pre_hook(before_act))
    try:
        with torch.no_grad():
            before = model(example)
    finally:
        for h in handles:
            h.remove()
    convs = [m for m in calls if isinstance(m, nn.Conv2d)]
    if any(calls[m] != 1 for m in calls) or not isinstance(before, torch.Tensor):
        return []
    convs = [c for c in convs if _fusable(c, seen_input[c])]
    undo: list[tuple[nn.Module, nn.Module]] = []  # (new, old)
    for conv in convs:
        act = act_of.get(conv)
        op, scalars = _post_op(act) if act is not None else ("none", [])  # type: ignore[misc]
        fused = FusedConv2d.from_conv(conv, op, scalars)
        _set_child(model, conv, fused)
        undo.append((fused, conv))
        if act is not None:
            ident = nn.Identity()
            _set_child(model, act, ident)
            undo.append((ident, act))
    probe = example.clone()
    try:
        with torch.no_grad():
            after = model(probe)
        ok = (
            isinstance(after, torch.Tensor)
            and torch.allclose(after, before, rtol=rtol, atol=atol)
            and torch.equal(probe, example)
        )
    except (RuntimeError, TypeError, AttributeError):  # an op this torch build does not have
        ok = False
    if not ok:
        for new, old in undo:
            _set_child(model, new, old)
        return []
    return [names[c] for c in convs]
