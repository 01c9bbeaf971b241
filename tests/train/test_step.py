"""Keras initialisation (fans from Keras itself), the bf16 refusal, the training step against a plain loop."""

from __future__ import annotations

import math
import os

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from convwise.core.errors import ConfigError
from convwise.layers.fast import use_fast_convs_
from convwise.models import build
from convwise.train.init import keras_fans, keras_init_
from convwise.train.step import TrainStep, check_precision


@pytest.mark.parametrize(
    ("layer", "keras_shape"),
    [
        (nn.Conv2d(1, 32, 3), (3, 3, 1, 32)),
        (nn.Conv2d(32, 32, 3, groups=32), "depthwise"),
        (nn.Conv2d(32, 64, 1), (1, 1, 32, 64)),
        (nn.Linear(1152, 128), (1152, 128)),
    ],
)
def test_keras_fans_are_keras_own(layer, keras_shape):
    os.environ.setdefault("KERAS_BACKEND", "torch")
    pytest.importorskip("keras", reason="keras (test-only dependency, extra `dev`) is not installed")
    from keras.src.initializers.random_initializers import compute_fans

    if keras_shape == "depthwise":  # Keras' DepthwiseConv2D kernel: (kh, kw, Cin, multiplier)
        keras_shape = (3, 3, 32, 1)
    assert keras_fans(layer) == tuple(int(f) for f in compute_fans(keras_shape))


def test_keras_init_draws_glorot_uniform_and_zero_biases():
    torch.manual_seed(0)
    model = keras_init_(build("fashion_separable_cnn"))
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            fan_in, fan_out = keras_fans(module)
            limit = math.sqrt(6 / (fan_in + fan_out))
            w = module.weight.detach()
            assert w.abs().max() <= limit and w.abs().max() > 0.8 * limit
            # U(-l, l) has std l / sqrt(3)
            if w.numel() > 1000:
                assert w.std().item() == pytest.approx(limit / math.sqrt(3), rel=0.1)
            if module.bias is not None:
                assert torch.count_nonzero(module.bias) == 0


def test_bf16_is_refused_without_native_support():
    with pytest.raises(ConfigError, match=r"`precision` bf16 needs a CPU with avx512_bf16 or amx_bf16"):
        check_precision("bf16", flags={"avx2", "fma"})
    check_precision("bf16", flags={"amx_bf16"})
    check_precision("fp32", flags=set())


def test_the_step_equals_a_plain_pytorch_loop():
    # Oracle: nn.Conv2d model, non-fused Adam, a hand-written step; ours: FastConv2d + fused Adam.
    torch.manual_seed(0)
    ref = build("fashion_separable_cnn").to(memory_format=torch.channels_last)
    ours = build("fashion_separable_cnn").to(memory_format=torch.channels_last)
    ours.load_state_dict(ref.state_dict())
    use_fast_convs_(ours)
    ref_opt = torch.optim.Adam(ref.parameters(), lr=1e-3, eps=1e-7)
    step = TrainStep(ours, torch.optim.Adam(ours.parameters(), lr=1e-3, eps=1e-7, fused=True), batch_size=16)
    gen = torch.Generator().manual_seed(1)
    losses = []
    for _ in range(5):
        x = torch.randn(16, 1, 28, 28, generator=gen).contiguous(memory_format=torch.channels_last)
        y = torch.randint(0, 10, (16,), generator=gen)
        loss = F.cross_entropy(ref(x), y)
        ref_opt.zero_grad()
        loss.backward()
        ref_opt.step()
        losses.append(loss.item())
        step(x, y)
    assert step.seen == 80
    assert step.loss_sum.item() == pytest.approx(16 * sum(losses), rel=1e-4)
    # Adam moves each weight by up to lr = 1e-3 per step whatever its gradient's size, so a near-zero
    # gradient summed in another order can move a weight the other way: half a step is allowed
    # (a wrong gradient moves many weights by whole steps)
    for a, b in zip(ours.parameters(), ref.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-3, atol=5e-4)
