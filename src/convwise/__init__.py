"""convwise: every convolution variant as a PyTorch layer, and its exact cost, explained.

The package is layered; importing `convwise` itself imports nothing heavy:

- `convwise.core`    pure arithmetic (standard library only): specs, padding, shapes, costs, explanations.
- `convwise.layers`  PyTorch modules built from core specs.
- `convwise.profile` per-layer cost report of any `nn.Module`, on the meta device.
- `convwise.models`  model zoo and what-if rewrites.
- `convwise.data`, `convwise.train`: data sets and the training loop.
- `convwise.deploy` (BatchNorm folding, fused optimised inference), `convwise.export` (ONNX / int8 / TFLite),
  `convwise.measure` (latency, roofline): inference on top.
- `convwise.viz`     drawings, diagrams and the HTML report.
- `convwise.cli`     the `convwise` command (argument parsing and printing only).
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
