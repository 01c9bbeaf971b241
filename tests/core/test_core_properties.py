"""Property tests of `convwise.core` against independent oracles (no torch needed).

- counts: a brute force that enumerates every output position and every kernel tap, with padding amounts
  from a re-implementation of TensorFlow's `same` rule (not convwise's);
- TensorFlow `same`: amounts and output size from TF's own formula (`GetWindowedOutputSizeVerbose`);
- MobileNet's ratio 1/Cout + 1/(kh·kw); groups = 1 and groups = Cin bracket every grouped count;
- exactness where floats round (10⁶ channels and more).
"""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convwise.core import (
    ConfigError,
    Padding,
    depthwise,
    grouped,
    layer_cost,
    make_spec,
    same_amounts,
    separable,
    separable_ratio_theory,
    standard,
)

FAST = settings(max_examples=1200, deadline=None)


# ---------------------------------------------------------------- independent oracles


def tf_same(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """TensorFlow's SAME padding (tensorflow/core/framework/kernel_shape_util.cc), written from its source."""
    effective = (kernel - 1) * dilation + 1
    out = (size + stride - 1) // stride
    needed = max(0, (out - 1) * stride + effective - size)
    before = needed // 2
    return before, needed - before


def resolve_pads(padding, size, kernel, stride, dilation) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) of a padding argument, per SPEC §1 / TensorFlow."""
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


def brute_stage(cin, cout, groups, kernel, stride, dilation, pads, bias, size):
    """Enumerate every output position and tap: (out size, mults, mults on real pixels, acc adds, bias adds).

    Returns None when no output position fits (the kernel is larger than the padded input).
    """
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    top, bottom, left, right = pads
    h, w = size
    hp, wp = h + top + bottom, w + left + right
    rows = [o for o in range(hp) if o * sh + (kh - 1) * dh <= hp - 1]
    cols = [o for o in range(wp) if o * sw + (kw - 1) * dw <= wp - 1]
    if not rows or not cols:
        return None
    cpg = cin // groups
    taps = real = 0
    for o in rows:
        for p in cols:
            for i in range(kh):
                for j in range(kw):
                    taps += 1
                    y, x = o * sh + i * dh - top, p * sw + j * dw - left
                    real += 0 <= y < h and 0 <= x < w
    outputs = len(rows) * len(cols) * cout
    mults = taps * cpg * cout  # every filter multiplies cin/g channels at each tap
    acc = mults - outputs  # n products need n − 1 additions per output element
    return (len(rows), len(cols)), mults, real * cpg * cout, acc, outputs if bias else 0


def brute_stages(kind, cin, cout, groups, m, kernel, stride, dilation, padding, bias, policy):
    """The primitive convs of a variant as SPEC §1 defines it: (cin, cout, g, k, s, d, padding, bias)."""
    spatial = (kernel, stride, dilation, padding)
    if kind == "standard":
        return [(cin, cout, 1, *spatial, bias)]
    if kind == "grouped":
        return [(cin, cout, groups, *spatial, bias)]
    if kind == "depthwise":
        return [(cin, cin * m, cin, *spatial, bias)]
    if kind == "pointwise":
        return [(cin, cout, groups, (1, 1), stride, (1, 1), padding, bias)]
    dw_bias, pw_bias = {"pytorch": (True, True), "keras": (False, True), "none": (False, False)}[policy]
    g = 1 if kind == "separable" else groups
    return [
        (cin, cin * m, cin, *spatial, dw_bias),
        (cin * m, cout, g, (1, 1), (1, 1), (1, 1), "valid", pw_bias),
    ]


# ---------------------------------------------------------------- strategies

axis2 = st.tuples(st.integers(1, 4), st.integers(1, 4))
paddings = st.one_of(
    st.sampled_from(["valid", "same"]),
    st.integers(0, 3),
    st.tuples(st.integers(0, 3), st.integers(0, 3)),
    st.tuples(st.integers(0, 3), st.integers(0, 3), st.integers(0, 3), st.integers(0, 3)),
)


@st.composite
def configs(draw):
    kind = draw(
        st.sampled_from(["standard", "grouped", "depthwise", "pointwise", "separable", "grouped-separable"])
    )
    m = draw(st.integers(1, 3)) if kind in ("depthwise", "separable", "grouped-separable") else 1
    groups = 1
    if kind in ("grouped", "pointwise"):
        groups = draw(st.integers(1, 4))
        cin = groups * draw(st.integers(1, 3))
        cout = groups * draw(st.integers(1, 3))
    elif kind == "grouped-separable":
        cin = draw(st.integers(1, 5))
        groups = draw(st.sampled_from([g for g in range(1, cin * m + 1) if (cin * m) % g == 0]))
        cout = groups * draw(st.integers(1, 3))
    else:
        cin, cout = draw(st.integers(1, 5)), draw(st.integers(1, 6))
    if kind == "depthwise":
        cout = cin * m
    pointwise = kind == "pointwise"
    return {
        "kind": kind,
        "cin": cin,
        "cout": cout,
        "groups": groups,
        "m": m,
        "kernel": (1, 1) if pointwise else draw(axis2),
        "stride": draw(st.tuples(st.integers(1, 3), st.integers(1, 3))),
        "dilation": (1, 1) if pointwise else draw(st.tuples(st.integers(1, 3), st.integers(1, 3))),
        "padding": draw(paddings),
        "bias": draw(st.booleans()),
        "policy": draw(st.sampled_from(["pytorch", "keras", "none"])),
        "size": (draw(st.integers(1, 10)), draw(st.integers(1, 10))),
        "batch": draw(st.integers(1, 3)),
    }


def spec_of(cfg):
    kind = cfg["kind"]
    kwargs = {"stride": cfg["stride"], "padding": cfg["padding"], "dilation": cfg["dilation"]}
    if kind in ("grouped", "pointwise", "grouped-separable"):
        kwargs["groups"] = cfg["groups"]
    if kind in ("depthwise", "separable", "grouped-separable"):
        kwargs["depth_multiplier"] = cfg["m"]
    if kind in ("separable", "grouped-separable"):
        kwargs["bias_policy"] = cfg["policy"]
    else:
        kwargs["bias"] = cfg["bias"]
    out = None if kind == "depthwise" else cfg["cout"]
    return make_spec(kind, cfg["cin"], out, cfg["kernel"], **kwargs)


# ---------------------------------------------------------------- properties


@FAST
@given(configs())
def test_counts_equal_brute_force_enumeration(cfg):
    stages = brute_stages(
        cfg["kind"], cfg["cin"], cfg["cout"], cfg["groups"], cfg["m"], cfg["kernel"], cfg["stride"],
        cfg["dilation"], cfg["padding"], cfg["bias"], cfg["policy"],
    )  # fmt: skip
    size = cfg["size"]
    expected = []
    for cin, cout, g, k, s, d, padding, bias in stages:
        pads = resolve_pads(padding, size, k, s, d)
        got = brute_stage(cin, cout, g, k, s, d, pads, bias, size)
        if got is None:
            expected = None
            break
        expected.append((pads, *got))
        size = got[0]
    spec = spec_of(cfg)
    if expected is None:
        with pytest.raises(ConfigError, match="larger than the padded input"):
            layer_cost(spec, (cfg["cin"], *cfg["size"]), batch=cfg["batch"])
        return
    cost = layer_cost(spec, (cfg["cin"], *cfg["size"]), batch=cfg["batch"])
    assert len(cost.stages) == len(expected)
    for st_cost, (pads, out_size, mults, real, acc, bias_adds) in zip(cost.stages, expected, strict=True):
        assert st_cost.pads == pads
        assert st_cost.output_size == out_size
        c = st_cost.counts
        assert (c.mults, c.mults_excluding_padding, c.acc_adds, c.bias_adds) == (mults, real, acc, bias_adds)
    n = cfg["batch"]
    assert cost.counts.mults == n * sum(e[2] for e in expected)
    assert cost.counts.mults_excluding_padding == n * sum(e[3] for e in expected)
    assert cost.counts.adds == n * sum(e[4] + e[5] for e in expected)
    assert cost.counts.flops == cost.counts.mults + cost.counts.adds
    assert cost.output_shape == (n, spec.out_channels, *expected[-1][1])


@settings(max_examples=1500, deadline=None)
@given(st.integers(1, 200), st.integers(1, 9), st.integers(1, 6), st.integers(1, 5))
def test_same_padding_is_tensorflows_rule(size, kernel, stride, dilation):
    assert same_amounts(size, kernel, stride, dilation) == tf_same(size, kernel, stride, dilation)
    spec = standard(1, 1, (kernel, 1), stride=(stride, 1), dilation=(dilation, 1), padding="same")
    ho = spec.output_shape((1, size, 1))[1]
    assert ho == math.ceil(Fraction(size, stride))  # TF's definition of 'same'
    assert Padding("same").resolve((size, 1), (kernel, 1), (stride, 1), (dilation, 1))[:2] == tf_same(
        size, kernel, stride, dilation
    )


@settings(max_examples=1000, deadline=None)
@given(
    st.integers(1, 64),
    st.integers(1, 64),
    axis2,
    st.tuples(st.integers(1, 3), st.integers(1, 3)),
    st.tuples(st.integers(1, 3), st.integers(1, 3)),
    paddings,
    st.tuples(st.integers(1, 40), st.integers(1, 40)),
    st.sampled_from([1, 1, 2, 3]),
)
def test_separable_over_standard_mults_is_mobilenet_ratio(cin, cout, k, s, d, padding, size, m):
    try:
        std = layer_cost(standard(cin, cout, k, stride=s, dilation=d, padding=padding), (cin, *size))
    except ConfigError:
        return  # kernel does not fit: nothing to compare
    sep = layer_cost(
        separable(cin, cout, k, stride=s, dilation=d, padding=padding, depth_multiplier=m), (cin, *size)
    )
    # both apply the same kernel geometry, so the output sizes agree and the ratio is exact
    assert sep.output_shape == std.output_shape
    ratio = Fraction(sep.counts.mults, std.counts.mults)
    if m == 1:  # MobileNet's formula, as published
        assert ratio == Fraction(1, cout) + Fraction(1, k[0] * k[1])
    # m depthwise filters per channel: both stages do m times the work
    assert ratio == m * (Fraction(1, cout) + Fraction(1, k[0] * k[1]))
    assert ratio == separable_ratio_theory(cout, k, m)


@settings(max_examples=1000, deadline=None)
@given(
    st.integers(1, 12), st.integers(1, 4), axis2, st.tuples(st.integers(1, 12), st.integers(1, 12)), st.data()
)
def test_groups_one_and_cin_bracket_grouped_counts(c, m, k, size, data):
    cout = c * m
    g = data.draw(st.sampled_from([g for g in range(1, c + 1) if c % g == 0]), label="groups")
    padding = "same"
    low = layer_cost(depthwise(c, k, depth_multiplier=m, padding=padding), (c, *size)).counts
    mid = layer_cost(grouped(c, cout, k, g, padding=padding), (c, *size)).counts
    high = layer_cost(standard(c, cout, k, padding=padding), (c, *size)).counts
    for field in ("weight_params", "params", "mults", "acc_adds", "flops"):
        assert getattr(low, field) <= getattr(mid, field) <= getattr(high, field), field
    assert mid.mults * g == high.mults  # each filter sees Cin/g channels
    assert mid.weight_params * g == high.weight_params
    assert mid.bias_adds == high.bias_adds == low.bias_adds  # one bias add per output element


# ---------------------------------------------------------------- exactness at sizes where floats round


def test_counts_exact_at_a_million_channels():
    cin = cout = 10**6 + 1
    h = w = 1001
    cost = layer_cost(standard(cin, cout, 3, padding="same"), (cin, h, w), batch=3)
    exact = 3 * cout * h * w * cin * 9
    assert isinstance(cost.counts.mults, int)
    assert cost.counts.mults == exact
    assert float(cout) * h * w * cin * 9 * 3 != exact  # a float computation would have rounded
    # linear in Cout: one more filter adds exactly one filter's work (checked on a one-filter layer)
    one = layer_cost(standard(cin, 1, 3, padding="same"), (cin, h, w), batch=3).counts
    bigger = layer_cost(standard(cin, cout + 1, 3, padding="same"), (cin, h, w), batch=3).counts
    assert bigger.mults - cost.counts.mults == one.mults
    assert bigger.flops - cost.counts.flops == one.flops
    assert bigger.params - cost.counts.params == one.params


def test_separable_exact_at_huge_sizes():
    cin, cout = 3 * 10**6 + 7, 2 * 10**6 + 3
    cost = layer_cost(separable(cin, cout, (5, 3), depth_multiplier=2), (cin, 4099, 8191), dtype="float64")
    ho, wo = 4099 - 4, 8191 - 2
    dw = 2 * cin * ho * wo * 15
    pw = cout * ho * wo * 2 * cin
    assert cost.counts.mults == dw + pw
    assert cost.counts.acc_adds == 2 * cin * ho * wo * 14 + cout * ho * wo * (2 * cin - 1)
    assert cost.weight_bytes == 8 * (2 * cin * 15 + 2 * cin + cout * 2 * cin + cout)
    assert cost.arithmetic_intensity == Fraction(cost.counts.flops, cost.bytes_moved)
