"""Every bad input of issue 3 raises `ConfigError` (a ValueError) naming the argument, rule and value."""

from __future__ import annotations

import re

import pytest

from convwise.core import (
    ConfigError,
    compare,
    depthwise,
    grouped,
    grouped_separable,
    layer_cost,
    make_spec,
    parse_padding,
    separable,
    standard,
)

CASES = [
    # sizes ≤ 0
    (
        "in_channels 0",
        lambda: standard(0, 10, 3),
        "`in_channels` must be a positive integer. Received: in_channels=0.",
    ),
    (
        "out_channels -1",
        lambda: standard(4, -1, 3),
        "`out_channels` must be a positive integer. Received: out_channels=-1.",
    ),
    (
        "kernel 0",
        lambda: standard(4, 10, 0),
        "`kernel_size` must be a positive integer or a pair (height, width) of them. "
        "Received: kernel_size=0.",
    ),
    (
        "input height 0",
        lambda: layer_cost(standard(4, 10, 3), (4, 0, 5)),
        "`input_shape` must be three positive integers (channels, height, width). "
        "Received: input_shape=(4, 0, 5).",
    ),
    (
        "batch 0",
        lambda: layer_cost(standard(4, 10, 3), (4, 5, 5), batch=0),
        "`batch` must be a positive integer. Received: batch=0.",
    ),
    # non-integers and bool
    (
        "in_channels 3.0",
        lambda: standard(3.0, 10, 3),
        "`in_channels` must be a positive integer. Received: in_channels=3.0.",
    ),
    (
        "kernel 2.5",
        lambda: standard(3, 10, 2.5),
        "`kernel_size` must be a positive integer or a pair (height, width) of them. "
        "Received: kernel_size=2.5.",
    ),
    (
        "stride '2'",
        lambda: standard(3, 10, 3, stride="2"),
        "`stride` must be a positive integer or a pair (height, width) of them. Received: stride='2'.",
    ),
    (
        "in_channels True",
        lambda: standard(True, 10, 3),
        "`in_channels` must be a positive integer. Received: in_channels=True.",
    ),
    (
        "kernel True",
        lambda: standard(3, 10, True),
        "`kernel_size` must be a positive integer or a pair (height, width) of them. "
        "Received: kernel_size=True.",
    ),
    ("bias 1", lambda: standard(3, 10, 3, bias=1), "`bias` must be True or False. Received: bias=1."),
    # groups not dividing
    (
        "groups vs in_channels",
        lambda: grouped(30, 8, 3, 4),
        "`groups` must divide `in_channels`. Received: in_channels=30, groups=4.",
    ),
    (
        "groups vs out_channels",
        lambda: grouped(8, 30, 3, 4),
        "`groups` must divide `out_channels`. Received: out_channels=30, groups=4.",
    ),
    (
        "grouped-separable groups",
        lambda: grouped_separable(3, 6, 3, 2),
        "`groups` must divide the depthwise output channels (in_channels·depth_multiplier). "
        "Received: in_channels=3, depth_multiplier=1, groups=2.",
    ),
    # multiplier / dilation 0
    (
        "depth_multiplier 0",
        lambda: depthwise(4, 3, depth_multiplier=0),
        "`depth_multiplier` must be a positive integer. Received: depth_multiplier=0.",
    ),
    (
        "dilation 0",
        lambda: standard(4, 10, 3, dilation=0),
        "`dilation` must be a positive integer or a pair (height, width) of them. Received: dilation=0.",
    ),
    # negative / unknown padding
    (
        "padding -1",
        lambda: standard(4, 10, 3, padding=-1),
        "`padding` must be 'valid', 'same', a non-negative integer, 'HxW', (height, width) or "
        "(top, bottom, left, right). Received: padding=-1.",
    ),
    (
        "padding 'full'",
        lambda: standard(4, 10, 3, padding="full"),
        "`padding` must be 'valid', 'same', a non-negative integer, 'HxW', (height, width) or "
        "(top, bottom, left, right). Received: padding='full'.",
    ),
    (
        "padding three values",
        lambda: parse_padding((1, 2, 3)),
        "`padding` must be 'valid', 'same', a non-negative integer, 'HxW', (height, width) or "
        "(top, bottom, left, right). Received: padding=(1, 2, 3).",
    ),
    (
        "padding_mode 'mirror'",
        lambda: standard(4, 10, 3, padding=1, padding_mode="mirror"),
        "`padding_mode` must be one of zeros, reflect, replicate, circular. Received: padding_mode='mirror'.",
    ),
    # kernel larger than the padded input
    (
        "kernel 7 on 5x5",
        lambda: layer_cost(standard(1, 1, 7), (1, 5, 5)),
        "The kernel (effective size d·(k−1)+1 = 7) is larger than the padded input along the height "
        "(5 + padding 0 = 5). Received: kernel_size=(7, 7), dilation=(1, 1), input_size=(5, 5), "
        "padding='valid'.",
    ),
    (
        "dilated kernel on 5 wide",
        lambda: layer_cost(standard(1, 1, 3, dilation=3, padding=(2, 0)), (1, 9, 5)),
        "The kernel (effective size d·(k−1)+1 = 7) is larger than the padded input along the width "
        "(5 + padding 0 = 5). Received: kernel_size=(3, 3), dilation=(3, 3), input_size=(9, 5), "
        "padding='2x0'.",
    ),
    (
        "reflect padding too large",
        lambda: layer_cost(standard(1, 1, 3, padding=3, padding_mode="reflect"), (1, 3, 3)),
        "`reflect` padding must be smaller than the input along the height (each side ≤ 2). "
        "Received: input_size=(3, 3), padding=(3, 3, 3, 3), padding_mode='reflect'.",
    ),
    # unknown kind and inconsistent options
    (
        "kind 'foo'",
        lambda: make_spec("foo", 4, 10, 3),
        "`kind` must be one of standard, grouped, depthwise, pointwise, separable, grouped-separable. "
        "Received: kind='foo'.",
    ),
    (
        "channel mismatch",
        lambda: layer_cost(standard(4, 10, 3), (3, 5, 5)),
        "The input has a different number of channels than the layer expects. "
        "Received: input_channels=3, in_channels=4.",
    ),
    (
        "dtype",
        lambda: layer_cost(standard(4, 10, 3), (4, 5, 5), dtype="float8"),
        "`dtype` must be one of float64, float32, float16, bfloat16, int32, int8, uint8. "
        "Received: dtype='float8'.",
    ),
    (
        "bias_policy",
        lambda: separable(4, 10, 3, bias_policy="tf"),
        "`bias_policy` must be one of pytorch, keras, none. Received: bias_policy='tf'.",
    ),
    (
        "depthwise out not multiple",
        lambda: make_spec("depthwise", 4, 10, 3),
        "A depthwise convolution's `out_channels` must be a multiple of `in_channels` "
        "(out_channels = in_channels·depth_multiplier). Received: in_channels=4, out_channels=10.",
    ),
    (
        "depthwise out 0",
        lambda: make_spec("depthwise", 4, 0, 3),
        "`out_channels` must be a positive integer. Received: out_channels=0.",
    ),
    (
        "depthwise groups",
        lambda: make_spec("depthwise", 4, None, 3, groups=2),
        "A depthwise convolution has groups = in_channels (leave `groups` unset). "
        "Received: in_channels=4, groups=2.",
    ),
    (
        "standard depth_multiplier",
        lambda: make_spec("standard", 4, 8, 3, depth_multiplier=2),
        "`depth_multiplier` applies only to depthwise, separable and grouped-separable convolutions. "
        "Received: kind='standard', depth_multiplier=2.",
    ),
    (
        "standard bias_policy",
        lambda: make_spec("standard", 4, 8, 3, bias_policy="keras"),
        "`bias_policy` applies only to separable and grouped-separable convolutions (use `bias`). "
        "Received: kind='standard', bias_policy='keras'.",
    ),
    (
        "pointwise kernel 3",
        lambda: make_spec("pointwise", 4, 8, 3),
        "A pointwise convolution has a 1x1 kernel. Received: kernel_size=3.",
    ),
    (
        "pointwise dilation",
        lambda: make_spec("pointwise", 4, 8, dilation=2),
        "A pointwise convolution's 1x1 kernel takes no dilation. Received: dilation=2.",
    ),
    (
        "standard groups",
        lambda: make_spec("standard", 4, 8, 3, groups=2),
        "A standard convolution has groups=1 (use kind 'grouped'). Received: groups=2.",
    ),
    (
        "separable groups",
        lambda: make_spec("separable", 4, 8, 3, groups=2),
        "A separable convolution has groups=1 (use kind 'grouped-separable'). Received: groups=2.",
    ),
    (
        "no bias vs keras policy",
        lambda: make_spec("separable", 4, 8, 3, bias=False, bias_policy="keras"),
        "`bias=False` contradicts `bias_policy` (use bias_policy='none', or leave it unset). "
        "Received: bias=False, bias_policy='keras'.",
    ),
    (
        "compare groups 1",
        lambda: compare((4, 5, 5), 10, 3, groups=1),
        "`groups` for the grouped variants must be at least 2. Received: groups=1.",
    ),
]


@pytest.mark.parametrize(("call", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_message(call, message):
    with pytest.raises(ConfigError, match=f"^{re.escape(message)}$") as info:
        call()
    assert isinstance(info.value, ValueError)  # ConfigError is a ValueError subclass


def test_spec_normalises_and_is_hashable():
    from convwise.core import Conv2dSpec

    spec = Conv2dSpec(3, 6, 3, stride=[2, 1])
    assert spec.kernel_size == (3, 3) and spec.stride == (2, 1)
    assert hash(spec) == hash(Conv2dSpec(3, 6, (3, 3), stride=(2, 1)))
