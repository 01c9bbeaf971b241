"""Inference optimisation: BatchNorm folding, conv+activation fusion, the optimised path `optimize(model)`.

>>> import torch
>>> from convwise.deploy import fold_batchnorm
>>> model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.BatchNorm2d(8)).eval()
>>> folded, pairs = fold_batchnorm(model)
>>> [(p.conv, p.norm) for p in pairs]
[('0', '1')]
"""

from convwise.deploy.fold import FoldedPair, find_conv_bn_pairs, fold_batchnorm
from convwise.deploy.optimized import ATOL, RTOL, OptimizedModel, optimize, tune_allocator

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
