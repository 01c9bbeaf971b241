"""Profiling never changes the model: device, mode, parameters, buffers (BN statistics), RNG state."""

from __future__ import annotations

import copy

import pytest
import torch
from profile_nets import ConvBNNet, NotOnMeta

from convwise.models import build
from convwise.profile import profile


def snapshot(model: torch.nn.Module) -> dict:
    return {
        "training": [m.training for m in model.modules()],
        "state": {k: v.detach().clone() for k, v in model.state_dict(keep_vars=True).items()},
        "devices": {k: v.device for k, v in model.state_dict(keep_vars=True).items()},
        "ids": {k: id(v) for k, v in model.state_dict(keep_vars=True).items()},
        "grad": {k: p.requires_grad for k, p in model.named_parameters()},
        "rng": torch.get_rng_state().clone(),
    }


def assert_same(before: dict, model: torch.nn.Module) -> None:
    after = snapshot(model)
    assert after["training"] == before["training"]
    assert after["devices"] == before["devices"]
    assert after["ids"] == before["ids"]
    assert after["grad"] == before["grad"]
    assert before["state"].keys() == after["state"].keys()
    for k, v in before["state"].items():
        assert torch.equal(v, after["state"][k]), k
    assert torch.equal(after["rng"], before["rng"])


@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize("device", ["meta", "real"])
def test_model_unchanged(train: bool, device: str) -> None:
    torch.manual_seed(1)
    model = ConvBNNet(freeze_stem=True).train(train)
    with torch.no_grad():  # non-trivial running statistics
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_()
                m.running_var.uniform_(0.5, 2)
    before = snapshot(model)
    report = profile(model, (3, 12, 12), batch=2, device=device)
    assert report.training is train
    assert_same(before, model)
    # the module still works and still updates its statistics when the user trains it
    if train:
        model(torch.randn(2, 3, 12, 12))
        assert int(model.bn1.num_batches_tracked) == int(before["state"]["bn1.num_batches_tracked"]) + 1


def test_fallback_to_real_tensors_leaves_model_unchanged() -> None:
    torch.manual_seed(2)
    model = NotOnMeta().train()
    before = snapshot(model)
    report = profile(model, (3, 8, 8))
    assert report.ran_on == "cpu"
    assert report.fallback is not None and "meta" in report.fallback
    assert report.totals["macs"] == 4 * 6 * 6 * 27
    assert_same(before, model)
    assert "real tensors" in report.render()


def test_zoo_model_unchanged_and_reusable() -> None:
    model = build("mobilenet_v1", width_multiplier=0.25, resolution=64)
    reference = copy.deepcopy(model)
    before = snapshot(model)
    first = profile(model, (3, 64, 64)).totals
    assert_same(before, model)
    assert profile(model, (3, 64, 64)).totals == first  # nothing accumulates between runs
    assert profile(reference, (3, 64, 64)).totals == first
