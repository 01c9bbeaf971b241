"""Classifying existing convolutions: any `nn.Conv2d` (and depthwise→pointwise pairs) round-trips."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from convwise.core import layer_cost, make_spec
from convwise.layers import build_layer, classify_conv, classify_pair, find_separable_pairs


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def expected_kind(cin: int, cout: int, k: tuple[int, int], groups: int) -> str:
    """SPEC §1: which variant an `nn.Conv2d` is."""
    if k == (1, 1):
        return "pointwise"
    if groups == 1:
        return "standard"
    if groups == cin and cout % cin == 0:
        return "depthwise"
    return "grouped"


@st.composite
def conv2d_args(draw):
    groups = draw(st.integers(1, 4))
    cin = groups * draw(st.integers(1, 3))
    cout = groups * draw(st.integers(1, 3))
    k = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    if stride == (1, 1):
        padding = draw(
            st.one_of(st.sampled_from(["same", "valid"]), st.tuples(st.integers(0, 2), st.integers(0, 2)))
        )
    else:
        padding = draw(st.one_of(st.just("valid"), st.tuples(st.integers(0, 2), st.integers(0, 2))))
    mode = draw(st.sampled_from(["zeros", "reflect", "replicate", "circular"]))
    return {
        "in_channels": cin,
        "out_channels": cout,
        "kernel_size": k,
        "stride": stride,
        "padding": padding,
        "dilation": dilation,
        "groups": groups,
        "bias": draw(st.booleans()),
        "padding_mode": mode,
    }


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel lengths")  # PyTorch's own note
@settings(max_examples=400, deadline=None)
@given(conv2d_args())
def test_classify_conv_round_trips(args):
    conv = nn.Conv2d(**args, dtype=torch.float64)
    spec = original = classify_conv(conv)
    cin, cout, k, g = args["in_channels"], args["out_channels"], args["kernel_size"], args["groups"]
    kind = expected_kind(cin, cout, k, g)
    assert spec.kind == kind
    # the same spec, built by name from the conv's arguments
    p = args["padding"]
    no_padding = p == (0, 0) or p == "valid"
    kwargs = {
        "stride": args["stride"],
        "padding": "valid" if no_padding else p,
        "padding_mode": "zeros" if no_padding else args["padding_mode"],  # no padding: the mode is moot
    }
    if kind in ("grouped", "pointwise"):
        kwargs["groups"] = g
    if kind == "depthwise":
        kwargs["depth_multiplier"] = cout // cin
    if kind != "pointwise":
        kwargs["dilation"] = args["dilation"]
    by_name = make_spec(kind, cin, None if kind == "depthwise" else cout, k, bias=args["bias"], **kwargs)
    if (
        kind == "pointwise"
    ):  # a 1x1 kernel's dilation changes nothing; make_spec refuses it, nn.Conv2d keeps it
        spec = replace(spec, stages=(replace(spec.stages[0], dilation=(1, 1)),))
    assert spec == by_name
    spec = original
    assert sum(t.numel() for t in conv.parameters()) == layer_cost(spec, (cin, 12, 12)).counts.params
    # a convwise layer built from the classified spec computes the same function
    layer = build_layer(spec, dtype=torch.float64)
    with torch.no_grad():
        layer.conv.weight.copy_(conv.weight)
        if conv.bias is not None:
            layer.conv.bias.copy_(conv.bias)
    x = torch.randn(1, cin, 9, 8, dtype=torch.float64)
    try:
        expected = conv(x)
    except RuntimeError:
        return  # the input is too small for this conv (PyTorch says so too)
    torch.testing.assert_close(layer(x), expected)
    assert tuple(expected.shape) == layer_cost(spec, (cin, 9, 8)).output_shape


def test_classify_one_channel_conv_is_standard_with_conv_role():
    spec = classify_conv(nn.Conv2d(1, 4, 3))
    assert spec.kind == "standard"
    assert spec == make_spec("standard", 1, 4, 3)


def test_classify_convwise_layer_returns_its_spec():
    spec = make_spec("grouped-separable", 4, 10, 3, groups=2, padding="same")
    assert classify_conv(build_layer(spec)) is spec


@pytest.mark.parametrize(
    ("dw_bias", "pw_bias", "policy", "params"),
    [(True, True, "pytorch", 90), (False, True, "keras", 86), (False, False, "none", 76)],
)
def test_classify_pair_and_find_pairs(dw_bias, pw_bias, policy, params):
    dw = nn.Conv2d(4, 4, 3, groups=4, bias=dw_bias)
    pw = nn.Conv2d(4, 10, 1, bias=pw_bias)
    spec = classify_pair(dw, pw)
    assert spec is not None
    assert (spec.kind, spec.bias_policy) == ("separable", policy)
    assert spec == make_spec("separable", 4, 10, 3, bias_policy=policy)
    assert (
        layer_cost(spec, (4, 5, 5)).counts.params
        == params
        == sum(p.numel() for p in [*dw.parameters(), *pw.parameters()])
    )
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), dw, nn.BatchNorm2d(4), nn.ReLU(), pw)
    assert [(a, b) for a, b, _ in find_separable_pairs(model)] == [("2", "5")]
    assert classify_pair(pw, dw) is None


def test_grouped_pair_is_grouped_separable():
    spec = classify_pair(nn.Conv2d(4, 4, 3, groups=4), nn.Conv2d(4, 10, 1, groups=2))
    assert spec == make_spec("grouped-separable", 4, 10, 3, groups=2)
    assert layer_cost(spec, (4, 5, 5)).counts.mults == 504  # SPEC §4
