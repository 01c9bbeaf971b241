"""Fixtures for the export tests: a net with non-trivial BatchNorm, a briefly trained checkpoint."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from export_helpers import randomize_bn, small_separable_net
from torch import nn


@pytest.fixture
def bn_net() -> nn.Module:
    """The small separable net with randomised BatchNorm statistics, in eval mode."""
    torch.manual_seed(0)
    return randomize_bn(small_separable_net())


@pytest.fixture(scope="session")
def trained_checkpoint(tmp_path_factory: pytest.TempPathFactory, fashion_dir: Path) -> Path:
    """The seed's Fashion-MNIST separable CNN trained for 250 steps on real data, as a convwise checkpoint."""
    from convwise.data import load_raw, make_splits
    from convwise.models import build
    from convwise.train.checkpoint import save_checkpoint

    torch.manual_seed(0)
    raw = load_raw("fashion-mnist", fashion_dir, download=False)
    splits = make_splits(raw, train_subset=16000, test_subset=2000)
    model = build("fashion_separable_cnn")
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    model.train()
    g = torch.Generator().manual_seed(0)
    for _ in range(250):
        idx = torch.randint(0, len(splits.x_train), (64,), generator=g)
        loss = nn.functional.cross_entropy(model(splits.x_train[idx]), splits.y_train[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    path = tmp_path_factory.mktemp("ckpt") / "fashion.pt"
    save_checkpoint(
        path,
        model,
        model_name="fashion_separable_cnn",
        model_config={},
        normalization=splits.normalization.as_dict(),
        dataset="fashion-mnist",
        epoch=1,
        metrics={},
        input_shape=(1, 28, 28),
    )
    return path
