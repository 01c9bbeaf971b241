"""Small models the profile tests share: functional-only, shared parameters, frozen layers, attention."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class FunctionalNet(nn.Module):
    """Only functional calls: conv2d, batch_norm, relu, max_pool, linear, matmul, einsum, SDPA, adds."""

    def __init__(self) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.w1 = nn.Parameter(torch.randn(8, 3, 3, 3, generator=g))
        self.b1 = nn.Parameter(torch.zeros(8))
        self.w2 = nn.Parameter(torch.randn(8, 1, 3, 3, generator=g))  # depthwise, no bias
        self.gamma = nn.Parameter(torch.ones(8))
        self.beta = nn.Parameter(torch.zeros(8))
        self.register_buffer("mean", torch.zeros(8))
        self.register_buffer("var", torch.ones(8))
        self.proj = nn.Parameter(torch.randn(16, 8, generator=g))
        self.fc_w = nn.Parameter(torch.randn(5, 16, generator=g))
        self.fc_b = nn.Parameter(torch.zeros(5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.conv2d(x, self.w1, self.b1, stride=2, padding=1)
        x = F.batch_norm(x, self.mean, self.var, self.gamma, self.beta, training=False)
        x = F.relu(x)
        x = x + F.conv2d(x, self.w2, None, padding=1, groups=8)
        x = F.max_pool2d(x, 2)
        t = x.flatten(2).transpose(1, 2)  # (N, L, 8)
        t = torch.matmul(t, self.proj.t())  # (N, L, 16)
        q = t.unflatten(-1, (2, 8)).transpose(1, 2)  # (N, 2 heads, L, 8)
        a = F.scaled_dot_product_attention(q, q, q)
        s = torch.einsum("nhld,nhmd->nhlm", a, q).softmax(-1)
        t = (s @ q).transpose(1, 2).flatten(2).mean(1)  # (N, 16)
        return F.linear(t, self.fc_w, self.fc_b)


class SharedNet(nn.Module):
    """A block reused three times in a loop and an output layer tied to the embedding-like input layer."""

    def __init__(self) -> None:
        super().__init__()
        self.inp = nn.Linear(6, 12, bias=False)
        self.block = nn.Sequential(nn.Linear(12, 12), nn.ReLU())
        self.out = nn.Linear(12, 6, bias=False)
        self.out.weight = nn.Parameter(self.inp.weight.t().contiguous())
        self.tied = nn.Linear(12, 12)
        self.tied.weight = self.block[0].weight  # shared parameter

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.inp(x)
        for _ in range(3):
            x = self.block(x)
        x = self.tied(x)
        return self.out(x)


class ConvBNNet(nn.Module):
    """conv → BN → ReLU6 → depthwise → BN → pointwise → pool → dropout → linear (frozen stem optional)."""

    def __init__(self, freeze_stem: bool = False) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.act = nn.ReLU6()
        self.dw = nn.Conv2d(8, 8, 3, padding=1, groups=8, bias=False)
        self.bn2 = nn.BatchNorm2d(8)
        self.pw = nn.Conv2d(8, 16, 1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.drop = nn.Dropout(0.5)
        self.fc = nn.Linear(16, 4)
        if freeze_stem:
            for p in [*self.stem.parameters(), *self.bn1.parameters()]:
                p.requires_grad_(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.act(self.bn1(self.stem(x)))
        x = self.act(self.bn2(self.dw(x)))
        x = self.pool(self.pw(x)).flatten(1)
        return self.fc(self.drop(x))


class NotOnMeta(nn.Module):
    """Needs real values (a data-dependent branch), so the profiler falls back to real tensors."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.bn = nn.BatchNorm2d(4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.bn(self.conv(x))
        if float(y.abs().sum()) >= 0:  # .item() on a meta tensor raises
            y = y + 1
        return y
