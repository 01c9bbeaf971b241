"""In-place activations after folded convs, the compiled path with Inductor freezing, the allocator switch."""

from __future__ import annotations

import pytest
import torch
from export_helpers import randomize_bn
from torch import nn

from convwise import deploy
from convwise.export.fuse import inplace_activations


class _ReusesConvOutput(nn.Module):
    """relu(conv(x)) + conv(x): an in-place ReLU would overwrite the second operand."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        return self.act(y) + y


def test_relu_after_folded_conv_becomes_inplace_and_outputs_match(bn_net: nn.Module) -> None:
    x = torch.randn(4, 1, 28, 28)
    fast = deploy.optimize(bn_net, example=x[:1])
    relus = [n for n, m in fast.model.named_modules() if isinstance(m, nn.ReLU)]
    assert relus and sorted(fast.inplace) == sorted(relus)
    assert all(m.inplace for m in fast.model.modules() if isinstance(m, nn.ReLU))
    keep = x.clone()
    with torch.no_grad():
        ref = bn_net(x)
    torch.testing.assert_close(fast(x), ref, rtol=deploy.RTOL, atol=deploy.ATOL)
    assert torch.equal(x, keep)  # the caller's input is never written to


def test_activation_is_left_alone_when_the_conv_output_is_reused() -> None:
    torch.manual_seed(0)
    net = _ReusesConvOutput().eval()
    x = torch.randn(2, 3, 8, 8)
    assert inplace_activations(net, x) == []
    assert not net.act.inplace
    fast = deploy.optimize(net, example=x[:1])
    with torch.no_grad():
        torch.testing.assert_close(fast(x), net(x), rtol=deploy.RTOL, atol=deploy.ATOL)


def test_activation_on_the_model_input_is_left_alone() -> None:
    net = nn.Sequential(nn.ReLU(), nn.Conv2d(3, 4, 1)).eval()
    x = torch.randn(2, 3, 8, 8)
    keep = x.clone()
    assert inplace_activations(net, x) == []
    deploy.optimize(net)(x)
    assert torch.equal(x, keep)


def test_untraceable_model_switches_on_first_call() -> None:
    from convwise.models import build

    torch.manual_seed(0)
    net = randomize_bn(build("mobilenet_v1", width_multiplier=0.25, resolution=64, num_classes=10))
    fast = deploy.optimize(net)
    assert fast.inplace_pending
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        ref = net(x)
    torch.testing.assert_close(fast(x), ref, rtol=deploy.RTOL, atol=deploy.ATOL)
    assert len(fast.inplace) == 27  # one ReLU after each of the 27 convs
    torch.testing.assert_close(fast(x), ref, rtol=deploy.RTOL, atol=deploy.ATOL)


def test_inplace_can_be_switched_off(bn_net: nn.Module) -> None:
    fast = deploy.optimize(bn_net, example=torch.randn(1, 1, 28, 28), inplace_act=False)
    assert fast.inplace == []
    assert not any(m.inplace for m in fast.model.modules() if isinstance(m, nn.ReLU))


@pytest.mark.slow
def test_compiled_path_packs_weights_and_fuses_relu(bn_net: nn.Module) -> None:
    """Inductor's own counters show the oneDNN weight prepacking and conv+ReLU fusion of `freezing`."""
    from torch._dynamo.utils import counters

    counters.clear()
    x = torch.randn(3, 1, 28, 28)
    fast = deploy.optimize(bn_net, example=x[:1], compile=True)
    with torch.no_grad():
        ref = bn_net(x)
    torch.testing.assert_close(fast(x), ref, rtol=deploy.RTOL, atol=deploy.ATOL)
    assert counters["inductor"]["mkldnn_conv_weight_pack_matcher_count"] >= 1
    assert counters["inductor"]["mkldnn_unary_fusion_matcher_count"] >= 1


def test_tune_allocator_reports_whether_it_applied() -> None:
    import platform

    applied = deploy.tune_allocator()
    assert applied == (platform.system() == "Linux" and platform.libc_ver()[0] == "glibc")
    big = torch.ones(64 << 20, dtype=torch.uint8)  # 64 MiB still allocates and frees normally
    assert int(big.sum()) == 64 << 20
