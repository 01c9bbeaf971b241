"""Layers against PyTorch: thousands of random configurations, each checked against real forwards.

For every configuration, `convwise.core`'s answer (output shape, params, or a ConfigError) is compared with
(a) a real forward of the convwise layer and (b) a reference built from plain `nn.Conv2d` and `F.pad`
following SPEC §1 (TensorFlow `same` amounts from TF's own formula, not convwise's). The reference gets the
layer's weights, so outputs must agree numerically: separable == depthwise∘pointwise. The same layer is
also run on channels-last input and built on the meta device.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import event, given, settings
from hypothesis import strategies as st
from torch import nn

from convwise.core import ConfigError, layer_cost, make_spec
from convwise.layers import (
    ConvVariant,
    DepthwiseConv2d,
    DilatedConv2d,
    GroupedConv2d,
    GroupedSeparableConv2d,
    PointwiseConv2d,
    SeparableConv2d,
    StandardConv2d,
    build_layer,
)


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny convolutions: one thread is ~50× faster than two on this shared, oversubscribed CPU."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


KINDS = ["standard", "grouped", "depthwise", "pointwise", "separable", "grouped-separable"]
MODES = ["zeros", "zeros", "reflect", "replicate", "circular"]  # zeros twice: the common case


def tf_same(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """TensorFlow's SAME padding (kernel_shape_util.cc), independent of convwise."""
    effective = (kernel - 1) * dilation + 1
    out = (size + stride - 1) // stride
    needed = max(0, (out - 1) * stride + effective - size)
    return needed // 2, needed - needed // 2


def pads_of(padding, size, kernel, stride, dilation):
    if padding == "valid":
        return (0, 0, 0, 0)
    if padding == "same":
        return (
            *tf_same(size[0], kernel[0], stride[0], dilation[0]),
            *tf_same(size[1], kernel[1], stride[1], dilation[1]),
        )
    if isinstance(padding, int):
        return (padding,) * 4
    if len(padding) == 2:
        return (padding[0], padding[0], padding[1], padding[1])
    return tuple(padding)


@st.composite
def configs(draw):
    kind = draw(st.sampled_from(KINDS))
    m = draw(st.integers(1, 3)) if kind in ("depthwise", "separable", "grouped-separable") else 1
    groups = 1
    if kind in ("grouped", "pointwise"):
        groups = draw(st.integers(1, 3))
        cin, cout = groups * draw(st.integers(1, 3)), groups * draw(st.integers(1, 3))
    elif kind == "grouped-separable":
        cin = draw(st.integers(1, 4))
        groups = draw(st.sampled_from([g for g in range(1, cin * m + 1) if (cin * m) % g == 0]))
        cout = groups * draw(st.integers(1, 3))
    else:
        cin, cout = draw(st.integers(1, 4)), draw(st.integers(1, 5))
    if kind == "depthwise":
        cout = cin * m
    pw = kind == "pointwise"
    return {
        "kind": kind,
        "cin": cin,
        "cout": cout,
        "groups": groups,
        "m": m,
        "kernel": (1, 1) if pw else (draw(st.integers(1, 4)), draw(st.integers(1, 4))),
        "stride": (draw(st.integers(1, 3)), draw(st.integers(1, 3))),
        "dilation": (1, 1) if pw else (draw(st.integers(1, 3)), draw(st.integers(1, 3))),
        "padding": draw(
            st.one_of(
                st.sampled_from(["valid", "same"]),
                st.integers(0, 3),
                st.tuples(st.integers(0, 3), st.integers(0, 3)),
                st.tuples(*[st.integers(0, 3)] * 4),
            )
        ),
        "mode": draw(st.sampled_from(MODES)),
        "bias": draw(st.booleans()),
        "policy": draw(st.sampled_from(["pytorch", "keras", "none"])),
        "size": (draw(st.integers(1, 9)), draw(st.integers(1, 9))),
    }


def spec_of(cfg):
    kind = cfg["kind"]
    kwargs = {
        "stride": cfg["stride"],
        "padding": cfg["padding"],
        "dilation": cfg["dilation"],
        "padding_mode": cfg["mode"],
    }
    if kind in ("grouped", "pointwise", "grouped-separable"):
        kwargs["groups"] = cfg["groups"]
    if kind in ("depthwise", "separable", "grouped-separable"):
        kwargs["depth_multiplier"] = cfg["m"]
    if kind in ("separable", "grouped-separable"):
        kwargs["bias_policy"] = cfg["policy"]
    else:
        kwargs["bias"] = cfg["bias"]
    return make_spec(kind, cfg["cin"], None if kind == "depthwise" else cfg["cout"], cfg["kernel"], **kwargs)


def reference_stages(cfg):
    """SPEC §1 as plain convs: [(nn.Conv2d with padding 0, padding argument, mode)]."""
    kind, cin, cout, g, m = cfg["kind"], cfg["cin"], cfg["cout"], cfg["groups"], cfg["m"]
    k, s, d, p, mode = cfg["kernel"], cfg["stride"], cfg["dilation"], cfg["padding"], cfg["mode"]

    def conv(i, o, kk, ss, dd, gg, bias):
        return nn.Conv2d(i, o, kk, ss, 0, dd, gg, bias, dtype=torch.float64)

    if kind in ("standard", "grouped"):
        return [(conv(cin, cout, k, s, d, g, cfg["bias"]), p, mode)]
    if kind == "depthwise":
        return [(conv(cin, cin * m, k, s, d, cin, cfg["bias"]), p, mode)]
    if kind == "pointwise":
        return [(conv(cin, cout, 1, s, 1, g, cfg["bias"]), p, mode)]
    dw_bias, pw_bias = {"pytorch": (True, True), "keras": (False, True), "none": (False, False)}[
        cfg["policy"]
    ]
    return [
        (conv(cin, cin * m, k, s, d, cin, dw_bias), p, mode),
        (conv(cin * m, cout, 1, 1, 1, 1 if kind == "separable" else g, pw_bias), "valid", "zeros"),
    ]


def reference_forward(stages, x):
    for conv, padding, mode in stages:
        h, w = x.shape[-2:]
        t, b, l, r = pads_of(padding, (h, w), conv.kernel_size, conv.stride, conv.dilation)
        if t or b or l or r:
            x = F.pad(x, (l, r, t, b), mode="constant" if mode == "zeros" else mode)
        x = conv(x)
    return x


def copy_weights(layer: ConvVariant, stages) -> None:
    with torch.no_grad():
        for mine, (ref, _, _) in zip(layer.stage_modules(), stages, strict=True):
            assert mine.weight.shape == ref.weight.shape
            ref.weight.copy_(mine.weight)
            assert (mine.bias is None) == (ref.bias is None)
            if ref.bias is not None:
                ref.bias.copy_(mine.bias)


@settings(max_examples=1000, deadline=None)
@given(configs())
def test_layer_matches_core_and_plain_torch_reference(cfg):
    torch.manual_seed(0)
    n = 2
    x = torch.randn(n, cfg["cin"], *cfg["size"], dtype=torch.float64)
    stages = reference_stages(cfg)
    try:
        expected = reference_forward(stages, x)
    except RuntimeError:
        expected = None  # PyTorch rejects this configuration (kernel too large, reflect pad too wide …)
    spec = spec_of(cfg)
    try:
        cost = layer_cost(spec, (cfg["cin"], *cfg["size"]), batch=n)
    except ConfigError:
        assert expected is None, "core rejected a configuration that PyTorch runs"
        event("rejected by both core and PyTorch")
        return
    pad = spec.padding
    event(f"ran: {spec.kind}")
    event(f"ran: padding {pad.kind}, mode {pad.mode}")
    if pad.kind == "same" and spec.stride != (1, 1):
        event("ran: same at stride > 1")
    if pad.kind == "explicit" and (pad.top, pad.left) != (pad.bottom, pad.right):
        event("ran: asymmetric explicit padding")
    if spec.kernel_size[0] != spec.kernel_size[1]:
        event("ran: non-square kernel")
    assert expected is not None, "core accepted a configuration that PyTorch rejects"
    layer = build_layer(spec, dtype=torch.float64)
    assert type(layer).__name__.lower() == spec.kind.replace("-", "") + "conv2d"
    copy_weights(layer, stages)
    expected = reference_forward(stages, x)
    out = layer(x)
    # shapes: core == convwise layer == plain reference
    assert tuple(out.shape) == cost.output_shape == tuple(expected.shape)
    torch.testing.assert_close(out, expected)
    # params: core == numel, per stage and in total; all trainable
    assert sum(p.numel() for p in layer.parameters()) == cost.counts.params
    assert sum(p.numel() for p in layer.parameters() if p.requires_grad) == cost.counts.params
    for module, st_cost in zip(layer.stage_modules(), cost.stages, strict=True):
        assert sum(p.numel() for p in module.parameters()) == st_cost.counts.params
    # channels-last input gives the same output
    out_cl = layer(x.contiguous(memory_format=torch.channels_last))
    torch.testing.assert_close(out_cl, out)
    # the meta device builds the same layer without memory, and its forward has the core's shape
    meta = build_layer(spec, device="meta")
    assert all(p.device.type == "meta" for p in meta.parameters())
    assert sum(p.numel() for p in meta.parameters()) == cost.counts.params
    assert tuple(meta(torch.empty(n, cfg["cin"], *cfg["size"], device="meta")).shape) == cost.output_shape


@settings(max_examples=300, deadline=None)
@given(
    st.integers(1, 40),
    st.integers(1, 3),
    st.integers(1, 3),
    st.integers(1, 3),
    st.sampled_from(["zeros", "reflect", "replicate", "circular"]),
)
def test_same_at_any_stride_gives_ceil_h_over_s(size, kernel, stride, dilation, mode):
    """TF 'same' at stride > 1: out = ceil(H/s) and the odd padding pixel goes bottom/right."""
    t, b, l, r = tf_same(size, kernel, stride, dilation) + tf_same(size + 1, kernel, stride, dilation)
    x = torch.randn(1, 1, size, size + 1)
    try:
        layer = StandardConv2d(
            1, 1, kernel, stride=stride, dilation=dilation, padding="same", padding_mode=mode
        )
        out = layer(x)
    except (ConfigError, RuntimeError):
        assert mode in ("reflect", "circular")  # PyTorch refuses pads wider than the input in these modes
        with pytest.raises(RuntimeError):  # ... and plain torch rejects the very same padding
            F.pad(x, (l, r, t, b), mode=mode)
        return
    assert tuple(out.shape[-2:]) == (-(-size // stride), -(-(size + 1) // stride))
    ref = nn.Conv2d(1, 1, kernel, stride, 0, dilation)
    with torch.no_grad():
        ref.weight.copy_(layer.conv.weight)
        ref.bias.copy_(layer.conv.bias)
    torch.testing.assert_close(out, ref(F.pad(x, (l, r, t, b), mode="constant" if mode == "zeros" else mode)))


def test_named_classes_build_the_right_spec():
    cases = [
        (StandardConv2d(4, 10, 3), "standard", 370),
        (DilatedConv2d(4, 10, 3, dilation=2), "standard", 370),
        (GroupedConv2d(4, 10, 3, 2), "grouped", 190),
        (DepthwiseConv2d(4, 3, depth_multiplier=2), "depthwise", 80),
        (PointwiseConv2d(4, 10), "pointwise", 50),
        (SeparableConv2d(4, 10, 3), "separable", 90),
        (SeparableConv2d(4, 10, 3, bias_policy="keras"), "separable", 86),
        (GroupedSeparableConv2d(4, 10, 3, 2), "grouped-separable", 70),
    ]
    for layer, kind, params in cases:
        assert layer.spec.kind == kind
        assert sum(p.numel() for p in layer.parameters()) == params  # SPEC §4 / Keras conventions
        assert layer.cost((4, 5, 5)).counts.params == params


def test_layers_validate_before_torch():
    with pytest.raises(
        ConfigError, match=r"^`groups` must divide `in_channels`\. Received: in_channels=30, groups=4\.$"
    ):
        GroupedConv2d(30, 8, 3, 4)
    with pytest.raises(ConfigError, match=r"^`depth_multiplier` must be a positive integer"):
        DepthwiseConv2d(4, 3, depth_multiplier=0)
