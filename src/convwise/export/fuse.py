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

_CONVS = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
#: Activations with an `inplace` flag that are safe to switch (elementwise, output depends only on the input).
_ACTS = (nn.ReLU, nn.ReLU6, nn.Hardtanh, nn.LeakyReLU, nn.ELU, nn.SiLU, nn.Hardswish)


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
