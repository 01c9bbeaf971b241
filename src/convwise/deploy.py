"""The optimised inference path `convwise.deploy.optimize(model)` (implemented in `convwise.export`)."""

from __future__ import annotations

from convwise.export.deploy import ATOL, RTOL, OptimizedModel, optimize, tune_allocator
from convwise.export.fold import FoldedPair, find_conv_bn_pairs, fold_batchnorm

__all__ = [
    "ATOL",
    "RTOL",
    "FoldedPair",
    "OptimizedModel",
    "find_conv_bn_pairs",
    "fold_batchnorm",
    "optimize",
    "tune_allocator",
]
