"""What-if rewrites: the same model with its convolutions replaced by separable or grouped ones.

`whatif(model, "separable")` deep-copies the model and replaces every eligible convolution — a standard
one (groups = 1) with a kernel larger than 1×1, optionally restricted to names matching a glob — by a
`convwise.layers` module with the same in/out channels, stride, padding and dilation, so every output
shape is kept. The report (`convwise.models.whatif_report.WhatIfResult`) lists each replaced layer's params
(from its `convwise.core` spec) and MACs (from `convwise.profile`, run on an eval-mode copy) before and
after, the measured MAC ratio beside the theory (`convwise.core.ratio_theory`), and totals. The original
model is never modified.
"""

from __future__ import annotations

import copy
import fnmatch
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from convwise.core import (
    ConfigError,
    LayerSpec,
    RatioTheory,
    config_error,
    layer_cost,
    make_spec,
    positive_int,
    ratio_theory,
    scale_channels,
)
from convwise.core.spec import BIAS_POLICIES
from convwise.layers import build_layer
from convwise.layers.classify import classify_conv, conv_like_modules
from convwise.models.whatif_report import ReplacedLayer, SkippedLayer, WhatIfResult
from convwise.profile import Report, profile
from convwise.profile.breakdown import counted_layers
from convwise.profile.trace import preserved

REWRITE_KINDS: tuple[str, ...] = ("separable", "grouped", "grouped-separable")


@dataclass(frozen=True)
class Rewrite:
    """What to rewrite eligible convolutions into."""

    kind: str
    groups: int = 1
    depth_multiplier: int = 1
    bias_policy: str | None = None

    def describe(self) -> str:
        """The rewrite in words.

        >>> Rewrite("grouped-separable", 4, 2).describe()
        'grouped-separable (groups 4, depth multiplier 2)'
        """
        extra = []
        if self.kind != "separable":
            extra.append(f"groups {self.groups}")
        if self.depth_multiplier != 1:
            extra.append(f"depth multiplier {self.depth_multiplier}")
        return self.kind + (f" ({', '.join(extra)})" if extra else "")

    def theory(self, out_channels: int, kernel: tuple[int, int]) -> RatioTheory:
        """MACs ratio to the standard conv predicted for this rewrite (same output size), with its formula.

        >>> Rewrite("grouped", 2).theory(10, (3, 3)).text()
        '1/g = 1/2'
        """
        return ratio_theory(
            self.kind, out_channels, kernel, groups=self.groups, depth_multiplier=self.depth_multiplier
        )


def parse_rewrite(text: str, *, depth_multiplier: int = 1, bias_policy: str | None = None) -> Rewrite:
    """`separable`, `grouped:G` or `grouped-separable:G` → a `Rewrite`.

    Raises:
        ConfigError: unknown kind, missing or bad G, bad multiplier or bias policy.

    >>> parse_rewrite("grouped:4")
    Rewrite(kind='grouped', groups=4, depth_multiplier=1, bias_policy=None)
    """
    rule = "`to` must be separable, grouped:G or grouped-separable:G (G a positive integer)."
    if not isinstance(text, str):
        raise config_error(rule, to=text)
    kind, _, g_text = text.strip().partition(":")
    if kind not in REWRITE_KINDS:
        raise config_error(rule, to=text)
    groups = 1
    if kind == "separable":
        if g_text:
            raise config_error(rule, to=text)
    else:
        if not g_text.isdigit() or int(g_text) < 1:
            raise config_error(rule, to=text)
        groups = int(g_text)
    positive_int("depth_multiplier", depth_multiplier)
    if kind == "grouped" and depth_multiplier != 1:
        raise config_error(
            "A depth multiplier applies to the separable rewrites only.",
            to=text,
            depth_multiplier=depth_multiplier,
        )
    if bias_policy is not None and bias_policy not in BIAS_POLICIES:
        raise config_error(
            f"`bias_policy` must be one of {', '.join(BIAS_POLICIES)}.", bias_policy=bias_policy
        )
    return Rewrite(kind, groups, depth_multiplier, bias_policy)


def _new_spec(before: LayerSpec, rw: Rewrite) -> LayerSpec:
    st = before.stages[0]
    policy = rw.bias_policy or ("keras" if st.bias else "none")
    common = before.window()
    if rw.kind == "grouped":
        for what, c in (("in_channels", st.in_channels), ("out_channels", st.out_channels)):
            if c % rw.groups:
                raise config_error(f"`groups` must divide `{what}`.", **{what: c, "groups": rw.groups})
        return make_spec(
            "grouped",
            st.in_channels,
            st.out_channels,
            st.kernel_size,
            groups=rw.groups,
            bias=st.bias,
            **common,
        )
    if rw.kind == "grouped-separable":
        mid = st.in_channels * rw.depth_multiplier
        if mid % rw.groups:
            raise config_error(
                "`groups` must divide the depthwise output channels (in_channels·depth_multiplier).",
                in_channels=st.in_channels,
                depth_multiplier=rw.depth_multiplier,
                groups=rw.groups,
            )
        if st.out_channels % rw.groups:
            raise config_error(
                "`groups` must divide `out_channels`.", out_channels=st.out_channels, groups=rw.groups
            )
    return make_spec(
        rw.kind,
        st.in_channels,
        st.out_channels,
        st.kernel_size,
        groups=rw.groups,
        depth_multiplier=rw.depth_multiplier,
        bias_policy=policy,  # type: ignore[arg-type]
        **common,
    )


def _projection(
    before: LayerSpec, rw: Rewrite, alpha: float, in_shape: tuple[int, int, int] | None, model_input: bool
) -> dict[str, Any]:
    """The rewritten layer's params (and MACs) with its channels thinned by the width multiplier α."""
    st = before.stages[0]
    cin = st.in_channels if model_input else scale_channels(st.in_channels, alpha)
    cout = scale_channels(st.out_channels, alpha)
    out: dict[str, Any] = {"width_multiplier": alpha, "in_channels": cin, "out_channels": cout}
    try:
        thin_before = make_spec("standard", cin, cout, st.kernel_size, bias=st.bias, **before.window())
        thin_after = _new_spec(thin_before, rw)
    except ConfigError as exc:
        out["error"] = str(exc)
        return out
    out["params"] = thin_after.params()
    if in_shape is None:
        return out
    out["macs"] = layer_cost(thin_after, (cin, in_shape[1], in_shape[2])).counts.macs
    return out


def _set_child(root: nn.Module, name: str, module: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    parent = root.get_submodule(parent_name) if parent_name else root
    parent._modules[child] = module


def _shapes(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return list(value.shape)
    if isinstance(value, (tuple, list)):
        return [_shapes(v) for v in value]
    if isinstance(value, dict):
        return {k: _shapes(v) for k, v in value.items()}
    return None


def output_shapes(model: nn.Module, input_shape: tuple[int, int, int]) -> Any:
    """Shapes of the model's output(s) for one sample, from a meta-device copy.

    Raises:
        ConfigError: if the forward pass fails on the meta device with that input shape.

    >>> output_shapes(nn.Conv2d(3, 8, 3), (3, 8, 8))
    [1, 8, 6, 6]
    """
    twin = copy.deepcopy(model).to("meta").eval()
    try:
        with torch.no_grad():
            return _shapes(twin(torch.empty(1, *input_shape, device="meta")))
    except Exception as exc:
        raise config_error(
            f"The model cannot run on this input shape: {type(exc).__name__}: {exc}",
            input_shape=input_shape,
        ) from exc


def _profile_eval(model: nn.Module, shape: tuple[int, ...]) -> Report:
    """`convwise.profile` of `model` (one of our own copies) in eval mode; the model is put back after.

    Raises:
        ConfigError: a model that does not run on one sample of `shape`.
    """
    with preserved(model):
        return profile(model.eval(), shape)


def _layer(report: Report, name: str) -> tuple[tuple[int, ...], tuple[int, ...], int] | None:
    """(input shape, output shape) of one sample at the first call, and MACs of all calls; None if not run."""
    node = report.nodes.get(name)
    if node is None or not node.calls or not node.input_shape or not node.output_shape:
        return None
    return tuple(node.input_shape[1:]), tuple(node.output_shape[1:]), report.subtree(name).mults


def _counted_macs(report: Report) -> int:
    """MACs of the convolutions and fully connected layers (other layers' work is not included)."""
    return sum(row["macs"] for row, _ in counted_layers(report))


def whatif(
    model: nn.Module,
    to: str | Rewrite = "separable",
    *,
    input_shape: tuple[int, int, int] | None = None,
    depth_multiplier: int = 1,
    bias_policy: str | None = None,
    only: str | None = None,
    projected_width_multiplier: float | None = None,
) -> WhatIfResult:
    """Rewrite a model's eligible convolutions and report the cost before and after.

    Args:
        model: any `nn.Module` (it is deep-copied; the original is untouched).
        to: 'separable', 'grouped:G', 'grouped-separable:G', or a `Rewrite`.
        input_shape: (C, H, W) of one sample, for MACs and the shape check; defaults to `model.input_shape`.
        depth_multiplier: depthwise outputs per input channel (separable rewrites).
        bias_policy: separable biases: 'keras' (pointwise only), 'pytorch' (both) or 'none'; default keeps
            one bias per output channel when the original conv had a bias ('keras'), else 'none'.
        only: a glob on module names (e.g. 'features.*'); only matching convs are considered.
        projected_width_multiplier: α; adds, per replaced layer, the cost the rewrite would have with its
            channels thinned by α (a projection: the returned model keeps its channels, so shapes are
            kept). To rewrite a thinner model, build it thinner (a zoo model's `width_multiplier`).

    Returns:
        A `WhatIfResult` with the new model, replaced and skipped layers and totals. The new layers are
        freshly initialised (PyTorch's default init; the CPU RNG state is restored afterwards).

    Raises:
        ConfigError: bad rewrite, unknown input shape, a model that does not run on the input, or a
            rewrite that changes an output shape.

    >>> result = whatif(nn.Conv2d(3, 8, 3), "separable", input_shape=(3, 8, 8))
    >>> result.macs_before, result.macs_after  # 8·6·6·3·3·3 → 3·6·6·3·3 + 8·6·6·3
    (7776, 1836)
    """
    rw = (
        to
        if isinstance(to, Rewrite)
        else parse_rewrite(to, depth_multiplier=depth_multiplier, bias_policy=bias_policy)
    )
    if input_shape is None:
        input_shape = getattr(model, "input_shape", None)
    if input_shape is None:
        raise config_error(
            "`input_shape` (C, H, W) is needed to count MACs and check shapes.", input_shape=None
        )
    shape = tuple(int(v) for v in input_shape)
    if len(shape) != 3 or min(shape) < 1:
        raise config_error(
            "`input_shape` must be three positive integers (C, H, W).", input_shape=input_shape
        )
    alpha = projected_width_multiplier
    if alpha is not None:
        scale_channels(1, alpha)  # validates α
    new = copy.deepcopy(model)
    before = _profile_eval(new, shape)  # the copy, before any rewrite: the original is never touched
    replaced_specs: list[tuple[str, LayerSpec, LayerSpec]] = []
    skipped: list[SkippedLayer] = []
    for name, module in conv_like_modules(new):
        if only is not None and not fnmatch.fnmatchcase(name, only):
            continue
        spec = classify_conv(module)
        if spec.kind != "standard" or spec.is_composite:
            skipped.append(SkippedLayer(name, f"not a standard conv ({spec.kind})", False))
            continue
        if spec.kernel_size == (1, 1):
            skipped.append(SkippedLayer(name, "1×1 kernel (nothing to separate)", False))
            continue
        try:
            new_spec = _new_spec(spec, rw)
        except ConfigError as exc:
            skipped.append(SkippedLayer(name, str(exc), True))
            continue
        weight = next(module.parameters(), None)
        device = weight.device if weight is not None else None
        dtype = weight.dtype if weight is not None else None
        with torch.random.fork_rng(devices=[]):  # new weights do not disturb the caller's CPU RNG stream
            layer = build_layer(new_spec, device=device, dtype=dtype)
        layer.train(module.training)
        if name:
            _set_child(new, name, layer)
        else:
            new = layer
        replaced_specs.append((name, spec, new_spec))
    if only is not None and not replaced_specs and not skipped:
        raise config_error("No convolution matches `only`.", only=only)
    after = _profile_eval(new, shape)
    out_before = output_shapes(model, shape)
    out_after = output_shapes(new, shape)
    if out_before != out_after:
        raise config_error(
            "The rewrite changed the model's output shape.", before=out_before, after=out_after
        )
    replaced: list[ReplacedLayer] = []
    for name, spec, new_spec in replaced_specs:
        b = _layer(before, name)
        a = _layer(after, name)
        if b is not None and a is not None and b[1] != a[1]:
            raise config_error(
                "The rewrite changed a layer's output shape.", layer=name, before=b[1], after=a[1]
            )
        theory = rw.theory(spec.out_channels, spec.kernel_size)
        in_shape = b[0] if b is not None else None
        replaced.append(
            ReplacedLayer(
                name,
                spec,
                new_spec,
                in_shape,  # type: ignore[arg-type]
                b[1] if b is not None else None,
                spec.params(),
                new_spec.params(),
                b[2] if b is not None else None,
                a[2] if a is not None else None,
                theory.value,
                theory.text(),
                None if alpha is None else _projection(spec, rw, alpha, in_shape, in_shape == shape),  # type: ignore[arg-type]
            )
        )
    notes = [
        "MACs count convolutions and fully connected layers (convwise.core formulas); other layers are "
        "not included.",
        "Theory ratios ignore biases and assume the same output size; the measured ratio is exact.",
    ]
    if alpha is not None:
        notes.append(
            "width_multiplier_projection: the replaced layer's cost with its input and output channels "
            "thinned by α (int(α·C)); a layer that reads the model's input keeps its input channels (as "
            "MobileNet keeps the image's 3); the returned model keeps its channels."
        )
    unrun = [r.name for r in replaced if r.macs_before is None]
    if unrun:
        notes.append(f"Not run by the forward pass (no MACs): {', '.join(unrun)}.")
    return WhatIfResult(
        new,
        rw.describe(),
        shape,  # type: ignore[arg-type]
        tuple(replaced),
        tuple(skipped),
        before.totals["params"],
        after.totals["params"],
        _counted_macs(before),
        _counted_macs(after),
        out_after,
        alpha,
        notes,
        kind=rw.kind,
        groups=rw.groups,
        depth_multiplier=rw.depth_multiplier,
    )
