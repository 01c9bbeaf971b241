"""The shared tracing helper and the "model preserved" guard (`convwise.profile.trace`)."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn

from convwise.profile.trace import hooked, leaf_modules, preserved, trace_calls


def _net() -> nn.Module:
    return nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Dropout(0.5), nn.Sequential(nn.ReLU()))


def test_calls_in_order_with_the_very_tensors_passed_between_modules() -> None:
    net = _net().eval()
    calls, out = trace_calls(net, torch.randn(1, 1, 6, 6))
    assert [c.name for c in calls] == ["0", "1", "2", "3.0"]
    assert all(b.input is a.output for a, b in itertools.pairwise(calls))
    assert out is calls[-1].output
    assert not out.requires_grad and not any(m._forward_hooks for m in net.modules())


def test_hooks_are_removed_when_the_forward_fails() -> None:
    net = nn.Sequential(nn.Linear(2, 3), nn.Linear(4, 1))
    with pytest.raises(RuntimeError):
        trace_calls(net, torch.zeros(1, 2))
    assert not any(m._forward_hooks for m in net.modules())
    with pytest.raises(ValueError), hooked(net.modules(), pre=lambda m, a: None):
        raise ValueError
    assert not any(m._forward_pre_hooks for m in net.modules())


def test_leaves_keep_chosen_types_whole() -> None:
    net = _net()
    assert [n for n, _ in leaf_modules(net)] == ["0", "1", "2", "3.0"]
    assert [n for n, _ in leaf_modules(net, whole=(nn.Sequential,))] == [""]


def test_preserved_restores_statistics_modes_and_rng() -> None:
    torch.manual_seed(0)
    net = _net().train()
    net[3].eval()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    rng = torch.get_rng_state()
    with preserved(net):
        net.train()
        trace_calls(net, torch.randn(4, 1, 6, 6) + 3)  # train mode: BN statistics move, dropout draws
        torch.randn(3)
        assert not torch.equal(net[1].running_mean, before["1.running_mean"])  # the guard had work to do
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())
    assert net.training and net[1].training and not net[3].training and not net[3][0].training
    assert torch.equal(torch.get_rng_state(), rng)
