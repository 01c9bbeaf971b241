"""Data sets as in-memory tensors: IDX reading with checksums, lookup, download, splits and normalisation."""

from __future__ import annotations

from convwise.data.datasets import DATASETS, FASHION_MNIST, MNIST, DatasetSpec, FileSpec, get_spec
from convwise.data.idx import parse_idx, read_idx, write_idx
from convwise.data.locate import locate_dataset, search_path
from convwise.data.tensors import Normalization, RawDataset, Splits, load_raw, make_splits

__all__ = [
    "DATASETS",
    "FASHION_MNIST",
    "MNIST",
    "DatasetSpec",
    "FileSpec",
    "Normalization",
    "RawDataset",
    "Splits",
    "get_spec",
    "load_raw",
    "locate_dataset",
    "make_splits",
    "parse_idx",
    "read_idx",
    "search_path",
    "write_idx",
]
