"""Deployment: BatchNorm folding, the optimised inference path, ONNX / int8 / TFLite export, benchmarks.

Heavy optional packages (onnx, onnxruntime, litert-torch) are imported only inside the functions that
need them; importing this package needs torch alone.
"""

from convwise.export.deploy import ATOL, RTOL, OptimizedModel, optimize
from convwise.export.fold import FoldedPair, find_conv_bn_pairs, fold_batchnorm
from convwise.export.source import Source, load_source

__all__ = [
    "ATOL",
    "RTOL",
    "FoldedPair",
    "OptimizedModel",
    "Source",
    "find_conv_bn_pairs",
    "fold_batchnorm",
    "load_source",
    "optimize",
]
