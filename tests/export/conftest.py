"""Fixtures for the export tests: a briefly trained checkpoint."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from bn_nets import tiny_fashion_net

HELPERS = Path(__file__).parent.parent / "bn_nets.py"


@pytest.fixture(scope="session")
def trained_checkpoint(tmp_path_factory: pytest.TempPathFactory, fashion_dir: Path) -> Path:
    """A small conv/BN/separable net trained for 300 steps on real Fashion-MNIST, as a convwise checkpoint.

    The model is stored as the file TARGET `tests/bn_nets.py:tiny_fashion_net`, so
    `load_checkpoint` rebuilds it. Trains on one thread (the machine is shared).
    """
    from convwise.data import load_raw, make_splits
    from convwise.train.checkpoint import save_checkpoint

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(0)
        raw = load_raw("fashion-mnist", fashion_dir, download=False)
        splits = make_splits(raw, train_subset=20000, test_subset=10)
        model = tiny_fashion_net()
        opt = torch.optim.Adam(model.parameters(), lr=3e-3)
        model.train()
        g = torch.Generator().manual_seed(0)
        for _ in range(300):
            idx = torch.randint(0, len(splits.x_train), (64,), generator=g)
            loss = nn.functional.cross_entropy(model(splits.x_train[idx]), splits.y_train[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    finally:
        torch.set_num_threads(threads)
    model.eval()
    path = tmp_path_factory.mktemp("ckpt") / "fashion.pt"
    save_checkpoint(
        path,
        model,
        model_name=f"{HELPERS}:tiny_fashion_net",
        model_config={},
        normalization=splits.normalization.as_dict(),
        dataset="fashion-mnist",
        epoch=1,
        metrics={},
        input_shape=(1, 28, 28),
    )
    return path
