"""`convwise.deploy.optimize`: outputs match the original model within the stated tolerance."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from bn_nets import randomize_bn
from convwise import deploy


def test_matches_original_within_stated_tolerance(bn_net: nn.Module) -> None:
    fast = deploy.optimize(bn_net)
    x = torch.randn(8, 1, 28, 28)
    with torch.no_grad():
        ref = bn_net(x)
    torch.testing.assert_close(fast(x), ref, rtol=deploy.RTOL, atol=deploy.ATOL)
    assert len(fast.folded) == 3
    assert not any(isinstance(m, nn.BatchNorm2d) for m in fast.modules())


def test_weights_are_channels_last_and_output_has_no_grad(bn_net: nn.Module) -> None:
    fast = deploy.optimize(bn_net)
    conv = fast.model[0].conv
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    out = fast(torch.randn(2, 1, 28, 28, requires_grad=True))
    assert not out.requires_grad


def test_original_model_untouched(bn_net: nn.Module) -> None:
    bn_net.train()
    before = {k: v.clone() for k, v in bn_net.state_dict().items()}
    deploy.optimize(bn_net)
    assert bn_net.training
    assert all(torch.equal(before[k], v) for k, v in bn_net.state_dict().items())


def test_untraceable_zoo_model_folds_on_first_call() -> None:
    from convwise.models import build

    torch.manual_seed(0)
    net = randomize_bn(build("mobilenet_v1", width_multiplier=0.25, resolution=64, num_classes=10))
    fast = deploy.optimize(net)
    assert fast.fold_pending and fast.folded == []
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        ref = net(x)
    torch.testing.assert_close(fast(x), ref, rtol=deploy.RTOL, atol=deploy.ATOL)
    assert len(fast.folded) == 27
    torch.testing.assert_close(fast(x), ref, rtol=deploy.RTOL, atol=deploy.ATOL)  # second call, folded


def test_with_example_folds_immediately() -> None:
    from convwise.models import build

    net = randomize_bn(build("kws_cnn"))
    fast = deploy.optimize(net, example=torch.randn(1, 1, 34, 13))
    assert not fast.fold_pending


def test_optional_steps_can_be_switched_off(bn_net: nn.Module) -> None:
    plain = deploy.optimize(bn_net, fold_bn=False, channels_last=False)
    assert plain.folded == []
    assert sum(isinstance(m, nn.BatchNorm2d) for m in plain.modules()) == 3
    x = torch.randn(2, 1, 28, 28)
    with torch.no_grad():
        torch.testing.assert_close(plain(x), bn_net(x))


def test_training_mode_is_refused(bn_net: nn.Module) -> None:
    fast = deploy.optimize(bn_net)
    fast.eval()  # allowed
    with pytest.raises(RuntimeError, match="inference-only"):
        fast.train()
