"""Splits and standardisation: first N training images validate, one mean/std fitted on the rest."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from convwise.core.errors import ConfigError
from convwise.data import load_raw, make_splits


def test_seed_split_and_normalisation(fashion_dir):
    raw = load_raw("fashion-mnist", fashion_dir)
    splits = make_splits(raw, val_size=5000)
    train_pixels = raw.train_images[5000:].numpy().astype(np.float64) / 255.0  # NumPy oracle
    assert splits.normalization.mean == pytest.approx(train_pixels.mean(), rel=1e-9)
    assert splits.normalization.std == pytest.approx(train_pixels.std(), rel=1e-9)
    assert tuple(splits.x_train.shape) == (55000, 1, 28, 28) and tuple(splits.x_val.shape) == (
        5000,
        1,
        28,
        28,
    )
    torch.testing.assert_close(splits.y_val, raw.train_labels[:5000])
    expected = (raw.test_images[:3].numpy() / 255.0 - train_pixels.mean()) / train_pixels.std()
    np.testing.assert_allclose(splits.x_test[:3, 0].numpy(), expected, rtol=1e-5, atol=1e-5)
    assert abs(float(splits.x_train.mean())) < 1e-4 and float(splits.x_train.std()) == pytest.approx(
        1, abs=1e-4
    )


def test_bad_sizes(fashion_dir):
    raw = load_raw("fashion-mnist", fashion_dir)
    with pytest.raises(ConfigError, match=r"`val_size` must be between 1 and 59999\. Received: val_size=0"):
        make_splits(raw, val_size=0)
    with pytest.raises(ConfigError, match="`train_subset` must be positive"):
        make_splits(raw, train_subset=0)
