"""Load a data set as in-memory tensors, split off a validation set and standardise the pixels.

>>> import torch
>>> norm = Normalization(mean=0.5, std=0.25)
>>> norm.apply(torch.tensor([[[0, 255]]], dtype=torch.uint8)).tolist()  # (N, H, W) uint8 -> (N, 1, H, W)
[[[[-2.0, 2.0]]]]
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from convwise.core.errors import config_error
from convwise.data.datasets import DatasetSpec, find_file, get_spec
from convwise.data.idx import read_idx
from convwise.data.locate import locate_dataset


@dataclass(frozen=True)
class RawDataset:
    """The four arrays of a data set as uint8 images (N, H, W) and int64 labels (N,)."""

    spec: DatasetSpec
    folder: Path
    train_images: torch.Tensor
    train_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor


@dataclass(frozen=True)
class Normalization:
    """One mean and one std for every pixel, on the 0..1 scale: `x = (pixel / 255 - mean) / std`."""

    mean: float
    std: float

    def apply(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 (N, H, W) or (N, C, H, W) -> float32 (N, C, H, W), standardised."""
        x = images.to(torch.float32).div_(255.0)
        if x.dim() == 3:
            x = x.unsqueeze(1)
        return x.sub_(self.mean).div_(self.std)

    def as_dict(self) -> dict[str, float]:
        """JSON/checkpoint form (also records the pixel scale)."""
        return {"mean": self.mean, "std": self.std, "scale": 1.0 / 255.0}

    @staticmethod
    def fit(images: torch.Tensor) -> Normalization:
        """Mean and (population) std of all pixels of `images` (uint8), computed in float64."""
        x = images.to(torch.float64) / 255.0
        return Normalization(mean=float(x.mean()), std=float(x.std(unbiased=False)))


@dataclass(frozen=True)
class Splits:
    """Standardised float32 tensors (N, C, H, W) and int64 labels for train / validation / test."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    normalization: Normalization
    classes: tuple[str, ...]
    dataset: str


@lru_cache(maxsize=4)
def _read_folder(spec: DatasetSpec, folder: Path) -> RawDataset:
    arrays: dict[str, np.ndarray] = {}
    for role, file in spec.files.items():
        path = find_file(folder, file)
        if path is None:
            raise config_error(
                f"{spec.name} file `{file.name}(.gz)` is missing in `folder`.", folder=str(folder)
            )
        array = read_idx(path, sha256=file.sha256)
        if tuple(array.shape) != file.shape:  # unreachable when the checksum matched; kept for clarity
            raise config_error(f"IDX file `path` must have shape {file.shape}.", path=str(path))
        arrays[role] = array
    return RawDataset(
        spec=spec,
        folder=folder,
        train_images=torch.from_numpy(arrays["train_images"]),
        train_labels=torch.from_numpy(arrays["train_labels"].astype(np.int64)),
        test_images=torch.from_numpy(arrays["test_images"]),
        test_labels=torch.from_numpy(arrays["test_labels"].astype(np.int64)),
    )


def load_raw(dataset: str, data_dir: str | Path | None = None, *, download: bool | None = None) -> RawDataset:
    """Find, verify (SHA-256 of the decompressed content) and read a data set.

    Args:
        dataset: `fashion-mnist` or `mnist`.
        data_dir: explicit folder (see `locate_dataset`).
        download: allow a download when nothing is found.

    Returns:
        The raw arrays as tensors (cached per process).

    Raises:
        ConfigError: unknown data set, not found, or a corrupt / truncated / wrong file (named).
    """
    spec = get_spec(dataset)
    folder = locate_dataset(spec, data_dir, download=download).resolve()
    return _read_folder(spec, folder)


def make_splits(
    raw: RawDataset,
    *,
    val_size: int = 5000,
    train_subset: int | None = None,
    test_subset: int | None = None,
) -> Splits:
    """Hold out the first `val_size` training images for validation and standardise everything.

    The mean and std are fitted on the remaining training images (after `train_subset`), as the seed does.

    Args:
        raw: the data set.
        val_size: number of leading training images used for validation.
        train_subset: keep only the first N training images after the validation split (for quick runs).
        test_subset: keep only the first N test images.

    Returns:
        The splits.

    Raises:
        ConfigError: sizes out of range.
    """
    n = raw.train_images.shape[0]
    if not 0 < val_size < n:
        raise config_error(f"`val_size` must be between 1 and {n - 1}.", val_size=val_size)
    train_x, train_y = raw.train_images[val_size:], raw.train_labels[val_size:]
    if train_subset is not None:
        if train_subset < 1:
            raise config_error("`train_subset` must be positive.", train_subset=train_subset)
        train_x, train_y = train_x[:train_subset], train_y[:train_subset]
    test_x, test_y = raw.test_images, raw.test_labels
    if test_subset is not None:
        if test_subset < 1:
            raise config_error("`test_subset` must be positive.", test_subset=test_subset)
        test_x, test_y = test_x[:test_subset], test_y[:test_subset]
    norm = Normalization.fit(train_x)
    return Splits(
        x_train=norm.apply(train_x),
        y_train=train_y.clone(),
        x_val=norm.apply(raw.train_images[:val_size]),
        y_val=raw.train_labels[:val_size].clone(),
        x_test=norm.apply(test_x),
        y_test=test_y.clone(),
        normalization=norm,
        classes=raw.spec.classes,
        dataset=raw.spec.name,
    )


__all__ = ["Normalization", "RawDataset", "Splits", "load_raw", "make_splits"]
