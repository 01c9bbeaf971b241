"""Small models for the deploy and export tests: conv/BN/ReLU wrappers with non-trivial BN statistics."""

from __future__ import annotations

import torch
from torch import nn


class ConvBNAct(nn.Module):
    """A conv -> BN -> ReLU wrapper, like the zoo's blocks (the conv is a child of the wrapper)."""

    def __init__(self, cin: int, cout: int, k: int = 3, stride: int = 1, groups: int = 1, bias: bool = False):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=bias)
        self.bn = nn.BatchNorm2d(cout)
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.bn(self.conv(x)))


def randomize_bn(model: nn.Module, seed: int = 0) -> nn.Module:
    """Give every BatchNorm non-trivial running statistics and affine parameters (as after training)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                n = m.num_features
                m.running_mean.copy_(torch.randn(n, generator=g) * 0.5)
                m.running_var.copy_(torch.rand(n, generator=g) * 2 + 0.2)
                if m.affine:
                    m.weight.copy_(torch.rand(n, generator=g) + 0.5)
                    m.bias.copy_(torch.randn(n, generator=g) * 0.3)
    return model.eval()


def small_separable_net(num_classes: int = 10) -> nn.Module:
    """Standard conv, depthwise-separable block (wrappers) and a head; 1x28x28 input."""
    return nn.Sequential(
        ConvBNAct(1, 8, 3, 2),
        ConvBNAct(8, 8, 3, 1, groups=8),
        ConvBNAct(8, 16, 1),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(16, num_classes),
    )


def tiny_fashion_net() -> nn.Module:
    """A cheap conv/BN/depthwise-separable net for 1x28x28 inputs, quick to train in a test."""
    return nn.Sequential(
        ConvBNAct(1, 16, 3, 2),
        ConvBNAct(16, 16, 3, 1, groups=16),
        ConvBNAct(16, 32, 1),
        ConvBNAct(32, 32, 3, 2, groups=32),
        ConvBNAct(32, 32, 1),
        nn.Flatten(),
        nn.Linear(32 * 7 * 7, 10),
    )
