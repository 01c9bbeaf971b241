"""BatchNorm folding: the folded model computes what PyTorch's unfolded eval-mode model computes."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from bn_nets import ConvBNAct, randomize_bn
from convwise.core.errors import ConfigError
from convwise.deploy import fold_batchnorm

TOL = {"rtol": 1e-5, "atol": 1e-5}


def _bn_count(model: nn.Module) -> int:
    return sum(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())


def test_folds_convs_inside_wrappers(bn_net: nn.Module) -> None:
    x = torch.randn(4, 1, 28, 28)
    with torch.no_grad():
        ref = bn_net(x)
    folded, pairs = fold_batchnorm(bn_net)
    assert [(p.conv, p.norm) for p in pairs] == [("0.conv", "0.bn"), ("1.conv", "1.bn"), ("2.conv", "2.bn")]
    assert _bn_count(folded) == 0
    with torch.no_grad():
        torch.testing.assert_close(folded(x), ref, **TOL)


def test_original_is_not_changed(bn_net: nn.Module) -> None:
    before = {k: v.clone() for k, v in bn_net.state_dict().items()}
    fold_batchnorm(bn_net)
    after = bn_net.state_dict()
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert _bn_count(bn_net) == 3


@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("bias", [True, False])
def test_affine_and_bias_variants(affine: bool, bias: bool) -> None:
    torch.manual_seed(1)
    net = randomize_bn(
        nn.Sequential(nn.Conv2d(3, 6, 3, bias=bias), nn.BatchNorm2d(6, affine=affine), nn.ReLU())
    )
    x = torch.randn(2, 3, 9, 9)
    with torch.no_grad():
        torch.testing.assert_close(fold_batchnorm(net)[0](x), net(x), **TOL)


def test_conv1d_with_batchnorm1d() -> None:
    torch.manual_seed(2)
    net = randomize_bn(nn.Sequential(nn.Conv1d(4, 8, 5, padding=2), nn.BatchNorm1d(8)))
    x = torch.randn(3, 4, 20)
    folded, pairs = fold_batchnorm(net)
    assert len(pairs) == 1
    with torch.no_grad():
        torch.testing.assert_close(folded(x), net(x), **TOL)


def test_zoo_mobilenet_which_does_not_trace_needs_example() -> None:
    from convwise.models import build

    torch.manual_seed(3)
    net = randomize_bn(build("mobilenet_v1", width_multiplier=0.25, resolution=64, num_classes=10))
    x = torch.randn(2, 3, 64, 64)
    with pytest.raises(ConfigError, match=r"does not trace with torch.fx needs an `example` input"):
        fold_batchnorm(net)
    folded, pairs = fold_batchnorm(net, x)
    assert len(pairs) == 27 == _bn_count(net)
    assert _bn_count(folded) == 0
    with torch.no_grad():
        torch.testing.assert_close(folded(x), net(x), rtol=1e-4, atol=1e-5)


class SkipUsesConvOutput(nn.Module):
    """The conv output feeds the BN *and* a residual add: folding would be wrong."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        return self.bn(y) + y


def test_conv_output_used_twice_is_not_folded() -> None:
    torch.manual_seed(4)
    net = randomize_bn(SkipUsesConvOutput())
    x = torch.randn(2, 4, 8, 8)
    folded, pairs = fold_batchnorm(net)  # traces: the conv has two users
    assert pairs == []
    with torch.no_grad():
        torch.testing.assert_close(folded(x), net(x), **TOL)


class UntraceableSkip(SkipUsesConvOutput):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if int(x.shape[-1]) > 0:  # data-dependent Python control flow: torch.fx cannot trace this
            y = self.conv(x)
            return self.bn(y) + y
        return x


def test_hook_search_detects_a_wrong_fold() -> None:
    torch.manual_seed(5)
    net = randomize_bn(UntraceableSkip())
    with pytest.raises(ConfigError, match=r"changed the model's output; a conv output is used outside"):
        fold_batchnorm(net, torch.randn(2, 4, 8, 8))


def test_shared_conv_is_not_folded() -> None:
    class Shared(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.block = ConvBNAct(4, 4)
            self.conv = self.block.conv

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.block(x) + self.conv(x)

    torch.manual_seed(6)
    net = randomize_bn(Shared())
    x = torch.randn(1, 4, 6, 6)
    folded, pairs = fold_batchnorm(net)
    assert pairs == []
    with torch.no_grad():
        torch.testing.assert_close(folded(x), net(x), **TOL)


def test_batchnorm_without_running_stats_is_kept() -> None:
    net = nn.Sequential(nn.Conv2d(2, 2, 1), nn.BatchNorm2d(2, track_running_stats=False)).eval()
    folded, pairs = fold_batchnorm(net)
    assert pairs == []
    assert _bn_count(folded) == 1
