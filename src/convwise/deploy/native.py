"""Inference convs through convwise's own C++ kernels (`convwise.layers.native`, kernels/infer.cpp).

`use_native_kernels(model, example)` replaces, in an eval-mode, BatchNorm-folded model:

- each 2-d conv with groups 1 (any kernel, stride, dilation) by a `NativeConv2d` that runs a
  register-blocked matrix multiply — 1×1 convs directly on the channels-last activation, others on an
  im2col of a band of output rows that stays in cache — with the bias and the ReLU, ReLU6 or SELU that
  consumes its output applied in registers before the store;
- each depthwise conv (one filter per channel) by a `NativeConv2d` that computes a row of outputs with
  the 3×3 taps in registers and several pixels side by side;
- each depthwise conv whose (activated) output only feeds a 1×1 conv by a `NativeSeparable`: band by
  band, the depthwise result goes to a buffer in cache and straight into the 1×1 conv's multiply, so it is
  never written to memory.

The TF-"same" padding of a convwise `SpecConv2d` (asymmetric at stride 2) is taken by the kernels as
(top, left, bottom, right) zeros, without a padded copy; a module made for the example's input size runs
its original conv for any other size. The model's output on the example must match the unchanged model
within `rtol`/`atol` (and leave the example untouched), otherwise nothing is replaced. See docs/deploy.md.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import torch
from torch import nn

from convwise.deploy.fold import _set_module
from convwise.deploy.fuse import output_unchanged, post_op
from convwise.layers.conv import SpecConv2d
from convwise.layers.native import ACT_NONE, ACT_RELU, ACT_RELU6, ACT_SELU, kernels
from convwise.profile.trace import trace_calls


def _ops() -> Any:
    """The kernels' extension module (callers have checked that it exists)."""
    return kernels()


def activation_code(act: nn.Module | None) -> int | None:
    """The kernels' code for an activation they apply in registers, None for one they cannot.

    >>> activation_code(nn.ReLU()), activation_code(nn.ReLU6()), activation_code(nn.SELU())
    (1, 2, 3)
    >>> activation_code(nn.Hardtanh(-1, 1)), activation_code(nn.GELU())
    (None, None)
    """
    if act is None:
        return ACT_NONE
    if type(act) is nn.SELU:
        return ACT_SELU
    op = post_op(act)
    if op is None:
        return None
    name, scalars = op
    if name == "relu":
        return ACT_RELU
    return ACT_RELU6 if scalars == [0.0, 6.0] else None


def _is_activation(module: nn.Module) -> bool:
    return activation_code(module) not in (None, ACT_NONE)


def _activate(code: int, x: torch.Tensor) -> torch.Tensor:
    if code == ACT_RELU:
        return torch.relu(x)
    if code == ACT_RELU6:
        return torch.clamp(x, 0.0, 6.0)
    if code == ACT_SELU:
        return torch.selu(x)
    return x


class NativeConv2d(nn.Module):
    """A 2-d conv (groups 1, or depthwise) + bias + activation through convwise's C++ kernels.

    Inference only; float32 channels-last CPU inputs of the input size it was made for (`size`, None:
    any). Other inputs run `original` (and the activation) instead.

    Attributes:
        original: the module it replaces (an `nn.Conv2d` or a `SpecConv2d`).
        kind: "standard" (groups 1) or "depthwise".
        pads: zero padding (top, left, bottom, right).
        act: the activation code applied before the store (`ACT_NONE`, `ACT_RELU`, `ACT_RELU6`).
    """

    def __init__(
        self, original: nn.Module, conv: nn.Conv2d, pads: tuple[int, int, int, int], size: Any, act: int
    ) -> None:
        super().__init__()
        self.original = original
        self.size = size
        self.pads = list(pads)
        self.act = act
        self.stride = list(conv.stride)
        self.dilation = list(conv.dilation)
        self.kh, self.kw = conv.kernel_size
        self.cout = conv.out_channels
        weight = conv.weight.detach().float()
        self.kind = "standard" if conv.groups == 1 else "depthwise"
        if self.kind == "depthwise":  # (C, 1, KH, KW) → (KH, KW, C)
            self.register_buffer("weight", weight[:, 0].permute(1, 2, 0).contiguous(), persistent=False)
        else:  # (Cout, Cin, KH, KW) → (Cout, KH·KW·Cin) → panels
            flat = weight.permute(0, 2, 3, 1).reshape(self.cout, -1)
            self.register_buffer("weight", _ops().pack_weight(flat), persistent=False)
        bias = conv.bias.detach().float() if conv.bias is not None else None
        # padded to whole panels once (zeros without a bias), so no call pads it again
        self.register_buffer("bias", _ops().pad_bias(bias, self.cout), persistent=False)

    def runs_native(self, x: torch.Tensor) -> bool:
        """Whether `x` is an input the kernels take (else `original` runs)."""
        return (
            x.dtype == torch.float32
            and x.device.type == "cpu"
            and x.dim() == 4
            and (self.size is None or tuple(x.shape[-2:]) == self.size)
            and x.is_contiguous(memory_format=torch.channels_last)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """act(conv(x) + bias)."""
        if not self.runs_native(x):
            return _activate(self.act, self.original(x))
        w, b, s, p, d, a = self.weight, self.bias, self.stride, self.pads, self.dilation, self.act
        if self.kind == "depthwise":
            return _ops().depthwise_forward(x, w, b, s, p, d, a)  # type: ignore[no-any-return]
        return _ops().conv_forward(x, w, b, self.cout, self.kh, self.kw, s, p, d, a)  # type: ignore[no-any-return]

    def extra_repr(self) -> str:
        pads = tuple(self.pads)
        return f"{self.kind} {self.kh}x{self.kw}, stride={tuple(self.stride)}, pads={pads}, act={self.act}"


class NativeSeparable(nn.Module):
    """A depthwise `NativeConv2d` and the 1×1 `NativeConv2d` it feeds, run as one kernel.

    The depthwise output (after its activation) is computed band by band into a buffer in cache and
    consumed by the 1×1 conv at once; it never reaches memory. Inputs the kernels do not take run the two
    modules one after the other.
    """

    def __init__(self, depthwise: NativeConv2d, pointwise: NativeConv2d) -> None:
        super().__init__()
        self.depthwise = depthwise
        self.pointwise = pointwise

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """pointwise(depthwise(x)), both with their activations."""
        dw, pw = self.depthwise, self.pointwise
        if not dw.runs_native(x):
            return pw(dw(x))
        depthwise = (dw.weight, dw.bias, dw.stride, dw.pads, dw.dilation, dw.act)
        return _ops().separable_forward(x, *depthwise, pw.weight, pw.bias, pw.cout, pw.act)  # type: ignore[no-any-return]


def _conv_of(module: nn.Module) -> tuple[nn.Conv2d, tuple[int, int, int, int] | None] | None:
    """The plain conv a unit runs and its size-independent padding (None: the padding depends on the size)."""
    conv = module.conv if isinstance(module, SpecConv2d) else module
    if type(conv) is not nn.Conv2d or conv.padding_mode != "zeros" or isinstance(conv.padding, str):
        return None
    if conv.weight.dtype != torch.float32 or conv.weight.device.type != "cpu":
        return None
    depthwise = conv.groups == conv.in_channels == conv.out_channels and conv.groups > 1
    if conv.groups != 1 and not depthwise:
        return None
    ph, pw = conv.padding  # type: ignore[misc]
    if isinstance(module, SpecConv2d):
        if module.spec.padding.mode != "zeros":
            return None
        return conv, None
    return conv, (ph, pw, ph, pw)


def use_native_kernels(
    model: nn.Module, example: torch.Tensor, *, rtol: float = 1e-4, atol: float = 1e-5
) -> dict[str, str | None]:
    """Run the model's convs through convwise's C++ kernels, fusing the activations that follow them and
    each depthwise → 1×1 pair (see the module docstring). Changed in place; undone on a mismatch.

    Args:
        model: the eval-mode, BatchNorm-folded module.
        example: one float32 CPU input in the layout used later (channels-last).
        rtol, atol: how closely the output on `example` must match the unchanged model's.

    Returns:
        Qualified name of each conv replaced → the activation fused into it (None: it had none), in
        execution order (both convs of a separable pair: the 1×1 one is then an `nn.Identity`, its work
        done by the `NativeSeparable` in the depthwise conv's place). Empty when the kernels cannot be
        built or the check fails.

    Example:
        >>> import torch
        >>> from torch import nn
        >>> dw = nn.Conv2d(8, 8, 3, padding=1, groups=8)
        >>> net = nn.Sequential(dw, nn.ReLU6(), nn.Conv2d(8, 4, 1)).eval()
        >>> x = torch.randn(1, 8, 6, 6).contiguous(memory_format=torch.channels_last)
        >>> done = use_native_kernels(net, x)
        >>> done == {} or (done == {"0": "1", "2": None} and type(net[0]).__name__ == "NativeSeparable")
        True
    """
    if kernels() is None or example.dtype != torch.float32 or example.device.type != "cpu":
        return {}
    units = [(n, m) for n, m in model.named_modules() if isinstance(m, (SpecConv2d, nn.Conv2d))]
    acts = [(n, m) for n, m in model.named_modules() if _is_activation(m)]
    calls, before = trace_calls(model, example, modules=units + acts)
    if any(n != 1 for n in Counter(c.name for c in calls).values()) or not isinstance(before, torch.Tensor):
        return {}
    inside_spec = {f"{n}.conv" for n, m in units if isinstance(m, SpecConv2d)}
    conv_calls = [
        c for c in calls if isinstance(c.module, nn.Conv2d | SpecConv2d) and c.name not in inside_spec
    ]
    producer = {id(c.output): c for c in conv_calls}
    act_after: dict[str, Any] = {}
    for c in calls:
        if _is_activation(c.module) and len(c.args) == 1 and id(c.input) in producer:
            act_after[producer[id(c.input)].name] = c
    # who reads each tensor (a SpecConv2d's own conv reading its input does not count)
    consumers = Counter(id(c.input) for c in calls if c.name not in inside_spec)
    made: dict[str, tuple[NativeConv2d, Any]] = {}  # conv name → (module, its activation call)
    for c in conv_calls:
        found = _conv_of(c.module)
        if found is None or not isinstance(c.input, torch.Tensor) or c.input.dim() != 4:
            continue
        conv, pads = found
        size = None
        if pads is None:  # a SpecConv2d: padding in its conv (static) or resolved per input size
            ph, pw = conv.padding  # type: ignore[misc]
            if c.module._dynamic:
                size = (int(c.input.shape[-2]), int(c.input.shape[-1]))
                top, bottom, left, right = c.module.spec.pads(size)
                pads = (top + ph, left + pw, bottom + ph, right + pw)
            else:
                pads = (ph, pw, ph, pw)
        act = act_after.get(c.name)
        code = activation_code(act.module if act is not None else None)
        if code is None:
            act, code = None, ACT_NONE
        made[c.name] = (NativeConv2d(c.module, conv, pads, size, code), act)
    if not made:
        return {}
    # Separable pairs: a depthwise unit whose (activated) output is the sole input of a 1×1 unit.
    by_input = {id(c.input): c for c in conv_calls if c.name in made}
    pairs: dict[str, str] = {}
    for c in conv_calls:
        if c.name not in made or made[c.name][0].kind != "depthwise":
            continue
        act = made[c.name][1]
        out = act.output if act is not None else c.output
        nxt = by_input.get(id(out))
        if nxt is None or consumers[id(out)] != 1 or (act is not None and consumers[id(c.output)] != 1):
            continue
        pw = made[nxt.name][0]
        if pw.kind == "standard" and (pw.kh, pw.kw) == (1, 1) and pw.stride == [1, 1] and pw.pads == [0] * 4:
            pairs[c.name] = nxt.name
    # A tensor used outside modules (e.g. `out + mid`) is invisible to the trace: if fusing a pair breaks
    # the output, try again with the convs alone.
    for attempt in ({**pairs}, {}) if pairs else ({},):
        done = _apply(model, made, attempt, example, before, rtol, atol)
        if done is not None:
            return done
    return {}


def _apply(
    model: nn.Module,
    made: dict[str, tuple[NativeConv2d, Any]],
    pairs: dict[str, str],
    example: torch.Tensor,
    before: torch.Tensor,
    rtol: float,
    atol: float,
) -> dict[str, str | None] | None:
    """Put the native modules in place; keep them if the output on `example` still matches, else undo."""
    undo: list[tuple[str, nn.Module]] = []  # (qualified name, the module it held)
    done: dict[str, str | None] = {}

    def swap(name: str, new: nn.Module) -> None:
        undo.append((name, model.get_submodule(name)))
        _set_module(model, name, new)

    paired = set(pairs.values())
    for name, (native, act) in made.items():
        if name in paired:
            continue
        fused = [(name, native, act)]
        if name in pairs:
            fused.append((pairs[name], *made[pairs[name]]))
            swap(name, NativeSeparable(native, made[pairs[name]][0]))
            swap(pairs[name], nn.Identity())
        else:
            swap(name, native)
        for conv_name, _, a in fused:
            if a is not None:
                swap(a.name, nn.Identity())
            done[conv_name] = a.name if a is not None else None
    if not output_unchanged(model, example, before, rtol=rtol, atol=atol):
        for name, old in reversed(undo):
            _set_module(model, name, old)
        return None
    return done
