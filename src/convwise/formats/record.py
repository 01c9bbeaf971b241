"""The neutral per-layer record every model-file reader produces, and its costs through the one formula table.

A reader (ONNX node, Keras layer, TFLite operator) fills one `LayerRecord` per layer: shapes in N, C, H, W
order for feature maps, its parameters, and its cost. Costs never come from the reader itself:

- a 2-D convolution is a `convwise.core.Conv2dSpec`, costed by `convwise.core.stage_cost` (the same code as
  `convwise layer` and the PyTorch profiler), classified by `convwise.layers.classify_stage`;
- every other op is costed by the profiler's formula for the aten op it computes
  (`convwise.profile.DEFAULT_FORMULAS`, e.g. ONNX `Relu` → `aten.relu`), called on meta tensors of the
  file's shapes (no memory, nothing run).

So a model file and the PyTorch model it came from are counted with the same conventions (docs/summary.md).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from convwise.core import Conv2dSpec, LayerSpec, stage_cost
from convwise.profile.formulas import DEFAULT_FORMULAS, FormulaTable, OpCost

#: How a layer changes the receptive field of its input (docs/summary.md, "Receptive field and jump"):
#: a sliding window; element-wise (largest field of the inputs); every position mixed; the layout ends
#: (flatten → dense); unknown (upsampling, transposed convolution).
FieldRule = Literal["window", "elementwise", "global", "flatten", "unknown"]


def meta_tensor(shape: Sequence[int]) -> Any:
    """A float32 tensor of `shape` on the meta device (no memory): what the profiler's formulas read.

    >>> t = meta_tensor((1, 8, 4, 4))
    >>> tuple(t.shape), t.device.type
    ((1, 8, 4, 4), 'meta')
    """
    import torch

    return torch.empty(tuple(int(v) for v in shape), dtype=torch.float32, device="meta")


def formula_cost(
    aten: str, args: tuple[Any, ...], out: Any, table: FormulaTable = DEFAULT_FORMULAS
) -> OpCost | None:
    """The cost of aten op `aten` from the profiler's formula table, on meta tensors of the shapes, or None.

    >>> x = meta_tensor((1, 8, 4, 4))
    >>> formula_cost("aten.relu", (x,), x).other_ops
    128
    >>> formula_cost("aten.max_pool2d", (x, [2, 2]), meta_tensor((1, 8, 2, 2))).other_ops
    96
    >>> formula_cost("aten.no_such_op", (), None) is None
    True
    """
    formula = table.ops.get(aten)
    return None if formula is None else formula(args, {}, out)


def conv2d_cost(spec: Conv2dSpec, input_shape: Sequence[int]) -> OpCost:
    """`convwise.core.stage_cost` of `spec` on an (N, C, H, W) input, for the whole batch, as an `OpCost`.

    >>> from convwise.core import Conv2dSpec
    >>> conv2d_cost(Conv2dSpec(3, 2, (3, 3)), (1, 3, 5, 5)).mults   # SPEC §4: 3×5×5, k3, 2 filters
    486
    """
    n, _, h, w = (int(v) for v in input_shape)
    counts = stage_cost(spec, (h, w)).counts.scaled(n)
    return OpCost(
        counts.mults,
        counts.acc_adds,
        counts.bias_adds,
        mults_excluding_padding=counts.mults_excluding_padding,
    )


def to_nchw(shape: Sequence[int] | None) -> list[int] | None:
    """A channels-last feature-map shape (N, H, W, C) as (N, C, H, W); other ranks unchanged.

    >>> to_nchw((1, 28, 28, 32)), to_nchw((1, 10)), to_nchw(None)
    ([1, 32, 28, 28], [1, 10], None)
    """
    if shape is None:
        return None
    s = [int(v) for v in shape]
    return [s[0], s[3], s[1], s[2]] if len(s) == 4 else s


@dataclass
class LayerRecord:
    """One layer of a model file with its own counts (shapes N, C, H, W; counts for the whole batch)."""

    name: str
    type: str
    kind: str | None = None
    spec: LayerSpec | None = None
    description: str | None = None
    input_shape: list[int] | None = None
    output_shape: list[int] | None = None
    params: int = 0
    trainable_params: int = 0
    frozen_params: int = 0
    shared_params: int = 0
    buffers: int = 0
    #: Elements of BatchNorm moving mean / variance among `buffers` (non-trainable in the Keras view).
    bn_statistics: int = 0
    weight_bytes: int = 0
    input_bytes: int = 0
    output_bytes: int = 0
    mults: int = 0
    acc_adds: int = 0
    bias_adds: int = 0
    mults_excluding_padding: int = 0
    other_ops: int = 0
    #: formula key → [calls, mults, adds, other ops] (shown by `--explain`).
    ops: dict[str, list[int]] = field(default_factory=dict)
    uncounted: dict[str, int] = field(default_factory=dict)
    #: Tensor names read / written, in the format's own naming (for the receptive field along the graph).
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    field_rule: FieldRule = "elementwise"
    #: (kernel, stride, dilation) per axis (H, W) of a sliding window (`field_rule` 'window').
    window: tuple[tuple[int, int], tuple[int, int], tuple[int, int]] | None = None
    #: Spatial (H, W) of the input, for rules that mix every position.
    spatial: tuple[int, int] | None = None
    #: Receptive field of the first output / first input (`convwise.profile.receptive.Field`), filled
    #: along the graph by `convwise.formats.report.assign_fields`.
    rf: Any = None
    rf_in: Any = None

    def add(self, key: str, cost: OpCost | None) -> None:
        """Add one op's cost under `key`; None (no formula) lists it as uncounted."""
        if cost is None:
            self.uncounted[key] = self.uncounted.get(key, 0) + 1
            return
        entry = self.ops.setdefault(key, [0, 0, 0, 0])
        entry[0] += 1
        entry[1] += cost.mults
        entry[2] += cost.acc_adds + cost.bias_adds
        entry[3] += cost.other_ops
        self.mults += cost.mults
        self.acc_adds += cost.acc_adds
        self.bias_adds += cost.bias_adds
        self.other_ops += cost.other_ops
        self.mults_excluding_padding += (
            cost.mults if cost.mults_excluding_padding is None else cost.mults_excluding_padding
        )

    def add_weights(self, elements: int, nbytes: int, *, trainable: bool = True) -> None:
        """Count `elements` parameter elements stored in `nbytes` bytes."""
        self.params += elements
        self.weight_bytes += nbytes
        if trainable:
            self.trainable_params += elements
        else:
            self.frozen_params += elements


@dataclass
class ModelRecord:
    """A model file read into layers, with what the reader knows about the file.

    Attributes:
        name: the model's name (the file name, or the model's own name).
        format: 'onnx', 'keras' or 'tflite'.
        layers: one record per layer, in execution order.
        input_shapes: shapes of the model inputs the costs are for (N first, N, C, H, W for images).
        input_names: the format's tensor names of those inputs.
        batch: N.
        dtype: the floating dtype of the activations (bytes of other tensors at their own width).
        source: how the file was read, e.g. 'ONNX opset 18, shapes from onnx.shape_inference'.
        conventions: differences from a PyTorch model of the same architecture the file shows
            (e.g. BatchNorm folded into the convs by the exporter), one sentence each.
        notes: other remarks shown under the table.
        keras_view: report BatchNorm moving statistics as non-trainable parameters (Keras' convention).
    """

    name: str
    format: str
    layers: list[LayerRecord]
    input_shapes: list[list[int]]
    input_names: list[str]
    batch: int
    dtype: str
    source: str
    conventions: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    keras_view: bool = False

    def totals(self) -> dict[str, int]:
        """Sums over the layers: params, macs, flops, other_ops (a quick check; the `Report` has them all).

        >>> ModelRecord("m", "onnx", [LayerRecord("a", "Relu", other_ops=4)], [[1, 4]], ["x"], 1,
        ...             "float32", "").totals()["other_ops"]
        4
        """
        return {
            "params": sum(r.params for r in self.layers),
            "macs": sum(r.mults for r in self.layers),
            "flops": sum(r.mults + r.acc_adds + r.bias_adds for r in self.layers),
            "other_ops": sum(r.other_ops for r in self.layers),
        }


def numel(shape: Sequence[int] | None) -> int:
    """Elements of a shape (0 for None)."""
    return 0 if shape is None else math.prod(int(v) for v in shape)
