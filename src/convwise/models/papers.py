"""Published cost tables as data (with their source), and our counts of the same models beside them.

MobileNet v1 — A. G. Howard et al., "MobileNets: Efficient Convolutional Neural Networks for Mobile
Vision Applications", arXiv:1704.04861 (2017): Table 2 (resources per layer type), Table 3 (one layer,
14×14×512 → 512, 3×3), Table 4 (full conv vs separable), Table 6 (width multiplier), Table 7 (resolution).
DS-CNN — Y. Zhang, N. Suda, L. Lai, V. Chandra, "Hello Edge: Keyword Spotting on Microcontrollers",
arXiv:1711.07128 (2017): the summary of the best DS-CNN models (memory in KB of 8-bit weights and
activations, operations per inference), also in the README table of ARM-software/ML-KWS-for-MCU.

Our numbers come from `convwise.profile` (conv costs from `convwise.core`, a Linear costs in·out MACs);
parameters are counted layers (convs + fully connected; BatchNorm excluded, as in the paper). Every
figure is exact; it is rounded only to compare with the published one at the paper's own precision.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from convwise.core import config_error, layer_cost, make_spec, scale_channels, scale_resolution

MOBILENET_SOURCE = (
    'A. G. Howard et al., "MobileNets: Efficient Convolutional Neural Networks for Mobile Vision '
    'Applications", arXiv:1704.04861 (2017)'
)
MOBILENETV2_SOURCE = (
    'M. Sandler et al., "MobileNetV2: Inverted Residuals and Linear Bottlenecks", arXiv:1801.04381 '
    "(2018); figures of the published checkpoints from tensorflow/models research/slim/nets/mobilenet/"
    "README.md (MobileNet V2 ImageNet checkpoints, 1001 classes)"
)
DSCNN_SOURCE = (
    'Y. Zhang, N. Suda, L. Lai, V. Chandra, "Hello Edge: Keyword Spotting on Microcontrollers", '
    "arXiv:1711.07128 (2017); architectures from ARM-software/ML-KWS-for-MCU train_commands.txt and "
    "models.py (create_ds_cnn_model)"
)


@dataclass(frozen=True)
class Published:
    """One published figure: its value as printed and the number of decimals it is printed with."""

    value: float
    decimals: int

    def close(self, ours: Fraction | int) -> bool:
        """True when `ours` rounds to the printed value (within half a unit of its last digit)."""
        return abs(Fraction(ours) - Fraction(str(self.value))) <= Fraction(1, 2 * 10**self.decimals)


@dataclass(frozen=True)
class Cell:
    """Our exact value, its scaled form (e.g. millions), and the published figure (if any)."""

    name: str
    exact: int | Fraction
    scale: int
    published: Published | None = None
    unit: str = "M"

    @property
    def scaled(self) -> Fraction:
        """Exact value / scale (e.g. millions)."""
        return Fraction(self.exact) / self.scale

    @property
    def difference(self) -> float | None:
        """Ours (scaled) − published."""
        return None if self.published is None else float(self.scaled - Fraction(str(self.published.value)))

    @property
    def matches(self) -> bool | None:
        """Whether ours rounds to the published figure."""
        return None if self.published is None else self.published.close(self.scaled)

    def to_dict(self) -> dict[str, Any]:
        """JSON form (exact value kept as an int when it is one)."""
        exact: Any = int(self.exact) if Fraction(self.exact).denominator == 1 else float(self.exact)
        return {
            "name": self.name,
            "ours": exact,
            "ours_scaled": float(self.scaled),
            "unit": self.unit,
            "published": None if self.published is None else self.published.value,
            "difference": self.difference,
            "matches": self.matches,
        }


@dataclass(frozen=True)
class Row:
    """One row of a reproduced table."""

    label: str
    cells: tuple[Cell, ...]
    config: dict[str, Any] = field(default_factory=dict)
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "label": self.label,
            "config": self.config,
            "note": self.note,
            "cells": [c.to_dict() for c in self.cells],
        }


@dataclass(frozen=True)
class Table:
    """A reproduced table: title, source, convention notes and rows."""

    key: str
    title: str
    source: str
    rows: tuple[Row, ...]
    notes: tuple[str, ...] = ()

    @property
    def all_match(self) -> bool:
        """True when every published figure is reproduced within its rounding."""
        return all(c.matches is not False for r in self.rows for c in r.cells)

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "key": self.key,
            "title": self.title,
            "source": self.source,
            "notes": list(self.notes),
            "all_match": self.all_match,
            "rows": [r.to_dict() for r in self.rows],
        }


# --------------------------------------------------------------------------- published MobileNet figures
#: Table 4: (label, conv form, million Mult-Adds, million params).
MOBILENET_TABLE4: tuple[tuple[str, str, float, float], ...] = (
    ("Conv MobileNet", "standard", 4866, 29.3),
    ("MobileNet", "separable", 569, 4.2),
)
#: Table 6: (width multiplier, million Mult-Adds, million params), all at 224.
MOBILENET_TABLE6: tuple[tuple[float, float, float], ...] = (
    (1.0, 569, 4.2),
    (0.75, 325, 2.6),
    (0.5, 149, 1.3),
    (0.25, 41, 0.5),
)
#: Table 7: (resolution, million Mult-Adds, million params), α = 1.
MOBILENET_TABLE7: tuple[tuple[int, float, float], ...] = (
    (224, 569, 4.2),
    (192, 418, 4.2),
    (160, 290, 4.2),
    (128, 186, 4.2),
)
#: Table 2: (layer type, % of Mult-Adds, % of parameters).
MOBILENET_TABLE2: tuple[tuple[str, float, float], ...] = (
    ("Conv 1×1", 94.86, 74.59),
    ("Conv DW 3×3", 3.06, 1.06),
    ("Conv 3×3", 1.19, 0.02),
    ("Fully Connected", 0.18, 24.33),
)
#: Table 3: (layer, million Mult-Adds, million params) for 14×14×512 → 512, 3×3.
MOBILENET_TABLE3: tuple[tuple[str, float, float], ...] = (
    ("Convolution", 462, 2.36),
    ("Depthwise Separable Conv", 52.3, 0.27),
    ("α = 0.75", 29.6, 0.15),
    ("ρ = 0.714", 15.1, 0.15),
)
#: MobileNet v2 checkpoints: (width multiplier, resolution, million MACs, million params).
MOBILENETV2_CHECKPOINTS: tuple[tuple[float, int, float, float], ...] = (
    (1.4, 224, 582, 6.06),
    (1.3, 224, 509, 5.34),
    (1.0, 224, 300, 3.47),
    (1.0, 192, 221, 3.47),
    (1.0, 160, 154, 3.47),
    (1.0, 128, 99, 3.47),
    (1.0, 96, 56, 3.47),
    (0.75, 224, 209, 2.61),
    (0.5, 224, 97, 1.95),
    (0.35, 224, 59, 1.66),
)
# --------------------------------------------------------------------------- published DS-CNN figures
#: (size, memory KB, million operations, accuracy %) of the Hello Edge summary of best models.
DSCNN_PUBLISHED: tuple[tuple[str, float, float, float], ...] = (
    ("S", 38.6, 5.4, 94.4),
    ("M", 189.2, 19.8, 94.9),
    ("L", 497.6, 56.9, 95.4),
)

MILLION = 1_000_000


def _decimals(value: float) -> int:
    text = repr(float(value)).rstrip("0").rstrip(".")
    return len(text.split(".")[1]) if "." in text else 0


def _pub(value: float) -> Published:
    return Published(value, _decimals(value))


@dataclass(frozen=True)
class _Counts:
    """A model's profile: its conv and fully connected layers (row, spec) and their totals."""

    model: Any
    layers: tuple[tuple[dict[str, Any], Any], ...]
    macs: int
    counted_params: int
    params: int


def _count(name: str, input_shape: tuple[int, int, int], **config: Any) -> _Counts:
    """Profile a zoo model (built on the meta device, in eval mode) on one sample of `input_shape`."""
    from convwise.models.registry import build
    from convwise.profile import profile
    from convwise.profile.breakdown import counted_layers

    model = build(name, device="meta", **config).eval()
    report = profile(model, input_shape)
    layers = tuple(counted_layers(report))
    return _Counts(
        model,
        layers,
        sum(row["macs"] for row, _ in layers),
        sum(row["params"] for row, _ in layers),
        report.totals["params"],
    )


def _mobilenet_counts(**config: Any) -> _Counts:
    res = config.get("resolution", 224)
    return _count("mobilenet_v1", (3, res, res), **config)


def _mc(macs: int, params: int, pub_macs: float | None, pub_params: float | None) -> tuple[Cell, Cell]:
    return (
        Cell("Mult-Adds", macs, MILLION, None if pub_macs is None else _pub(pub_macs)),
        Cell("Parameters", params, MILLION, None if pub_params is None else _pub(pub_params)),
    )


def mobilenet_table4() -> Table:
    """Table 4: MobileNet with full convolutions vs depthwise-separable ones (α = 1, 224)."""
    rows = []
    for label, conv, macs, params in MOBILENET_TABLE4:
        c = _mobilenet_counts(conv=conv)
        rows.append(Row(label, _mc(c.macs, c.counted_params, macs, params), {"conv": conv}))
    return Table(
        "table4",
        "Table 4. Depthwise Separable vs Full Convolution MobileNet (224, α = 1)",
        MOBILENET_SOURCE + ", Table 4",
        tuple(rows),
        (
            "Conv MobileNet: every depthwise-separable block replaced by one 3×3 standard conv with the "
            "same channels and stride (conv='standard').",
            "Conv MobileNet: ours is 1.29 M (0.03 %) above the paper; without the classifier's "
            "1,024,000 Mult-Adds it is 4,866.27 M, which rounds to the published 4866, so the paper seems to "
            "leave the fully connected layer out of this row (its MobileNet row, 569, includes it: 567.7 M "
            "without).",
        ),
    )


def mobilenet_table6() -> Table:
    """Table 6: width multiplier α ∈ {1, 0.75, 0.5, 0.25} at 224."""
    rows = []
    for alpha, macs, params in MOBILENET_TABLE6:
        c = _mobilenet_counts(width_multiplier=alpha)
        rows.append(
            Row(
                f"{alpha} MobileNet-224",
                _mc(c.macs, c.counted_params, macs, params),
                {"width_multiplier": alpha},
            )
        )
    return Table(
        "table6",
        "Table 6. MobileNet Width Multiplier",
        MOBILENET_SOURCE + ", Table 6",
        tuple(rows),
        ("Channels are int(α·C) (rounding='paper', as keras.applications.MobileNet).",),
    )


def mobilenet_table7() -> Table:
    """Table 7: resolution 224, 192, 160, 128 at α = 1."""
    rows = []
    for res, macs, params in MOBILENET_TABLE7:
        c = _mobilenet_counts(resolution=res)
        rows.append(
            Row(f"1.0 MobileNet-{res}", _mc(c.macs, c.counted_params, macs, params), {"resolution": res})
        )
    return Table(
        "table7",
        "Table 7. MobileNet Resolution",
        MOBILENET_SOURCE + ", Table 7",
        tuple(rows),
        (
            "'same' padding as TensorFlow; taps over padding zeros are counted (SPEC §2).",
            "MobileNet-160: ours 290.68 M vs the published 290 (0.23 %): the other rows round to the nearest "
            "million with the classifier included; 290 is what truncation, or leaving the classifier "
            "out (289.65 M), gives. No single convention reproduces all four rows; TensorFlow's own "
            "checkpoint table (tensorflow/models research/slim/nets/mobilenet_v1.md) lists 291 M for "
            "MobileNet_v1_1.0_160, as we count.",
        ),
    )


def layer_type(kind: str, kernel: tuple[int, int] | None) -> str:
    """Table 2's layer type of a counted layer."""
    if kind == "linear":
        return "Fully Connected"
    k = f"{kernel[0]}×{kernel[1]}" if kernel else "?"
    if kind == "depthwise":
        return f"Conv DW {k}"
    if kind in ("pointwise", "standard") and kernel == (1, 1):
        return "Conv 1×1"
    return f"Conv {k}"


def _table2_type(row: dict[str, Any], spec: Any) -> str | None:
    """Table 2's layer type of a profile row (None: not a conv or fully connected layer)."""
    if spec is not None:
        return layer_type(spec.kind, spec.kernel_size)
    return layer_type("linear", None) if row.get("kind") == "linear" else None


def _weight_params(model: Any, row: dict[str, Any], spec: Any) -> int:
    """Weights of a counted layer, biases left out: from its conv spec, or a Linear's weight."""
    if spec is not None:
        return sum(stage.weight_params() for stage in spec.stages)
    name = "" if row["name"] == "(top level)" else row["name"]
    return int(model.get_submodule(name).weight.numel())


def mobilenet_table2() -> Table:
    """Table 2: share of Mult-Adds and parameters by layer type (α = 1, 224)."""
    from convwise.profile.breakdown import by_layer_type

    c = _mobilenet_counts()
    layers = [({**row, "weight_params": _weight_params(c.model, row, spec)}, spec) for row, spec in c.layers]
    groups = {
        g["type"]: g for g in by_layer_type(layers, _table2_type, keys=("macs", "weight_params"), shares=())
    }
    macs = {t: g["macs"] for t, g in groups.items()}
    params = {t: g["weight_params"] for t, g in groups.items()}
    total_m, total_p = sum(macs.values()), sum(params.values())
    rows = []
    for label, pm, pp in MOBILENET_TABLE2:
        rows.append(
            Row(
                label,
                (
                    Cell("Mult-Adds", Fraction(100 * macs.get(label, 0), total_m), 1, _pub(pm), "%"),
                    Cell("Parameters", Fraction(100 * params.get(label, 0), total_p), 1, _pub(pp), "%"),
                ),
                {"mult_adds": macs.get(label, 0), "parameters": params.get(label, 0)},
            )
        )
    return Table(
        "table2",
        "Table 2. Resource Per Layer Type (MobileNet, 224, α = 1)",
        MOBILENET_SOURCE + ", Table 2",
        tuple(rows),
        (
            f"Totals: {total_m:,} Mult-Adds (convs + fully connected), {total_p:,} parameters = weights "
            "only, the paper's convention here (BatchNorm and the classifier's 1,000 biases left out: with "
            "the biases the shares are 74.57 % for 1×1 and 24.35 % for the fully connected layer).",
            "Published erratum: the paper's Mult-Adds column sums to 99.29 %; the 3×3 conv (the stem, "
            "112·112·32·3·3·3 = 10,838,016 Mult-Adds) is 1.91 % of the total, printed as 1.19 % "
            "(probably transposed digits). Ours sums to 100 %.",
        ),
    )


def mobilenet_table3() -> Table:
    """Table 3: one layer 14×14×512 → 512, 3×3, standard / separable / α = 0.75 / ρ = 0.714."""
    shape = (512, 14, 14)
    alpha, rho = Fraction(3, 4), Fraction("0.714")
    c_a = scale_channels(512, alpha)
    side = scale_resolution(14, rho)
    specs: tuple[tuple[str, Any, tuple[int, int, int], dict[str, Any]], ...] = (
        ("Convolution", make_spec("standard", 512, 512, 3, padding="same", bias=False), shape, {}),
        (
            "Depthwise Separable Conv",
            make_spec("separable", 512, 512, 3, padding="same", bias_policy="none"),
            shape,
            {},
        ),
        (
            "α = 0.75",
            make_spec("separable", c_a, c_a, 3, padding="same", bias_policy="none"),
            (c_a, 14, 14),
            {"width_multiplier": 0.75, "channels": c_a},
        ),
        (
            "ρ = 0.714",
            make_spec("separable", c_a, c_a, 3, padding="same", bias_policy="none"),
            (c_a, side, side),
            {"width_multiplier": 0.75, "resolution_multiplier": 0.714, "channels": c_a, "side": side},
        ),
    )
    rows = []
    for (label, spec, in_shape, cfg), (_, pm, pp) in zip(specs, MOBILENET_TABLE3, strict=True):
        cost = layer_cost(spec, in_shape)
        rows.append(
            Row(
                label,
                _mc(cost.counts.macs, cost.counts.params, pm, pp),
                {**cfg, "input_shape": list(in_shape)},
            )
        )
    return Table(
        "table3",
        "Table 3. Resource usage for modifications to standard convolution (14×14×512 → 512, 3×3)",
        MOBILENET_SOURCE + ", Table 3",
        tuple(rows),
        (
            f"ρ = 0.714 maps 14 to round(0.714·14) = {side} pixels; α = 0.75 maps 512 to {c_a} channels "
            "(both input and output); no biases.",
        ),
    )


def mobilenetv2_table() -> Table:
    """MobileNet v2: MACs and params of the published checkpoints (1001 classes)."""
    rows = []
    for alpha, res, macs, params in MOBILENETV2_CHECKPOINTS:
        c = _count("mobilenet_v2", (3, res, res), width_multiplier=alpha, resolution=res, num_classes=1001)
        rows.append(
            Row(
                f"mobilenet_v2_{alpha}_{res}",
                _mc(c.macs, c.counted_params, macs, params),
                {"width_multiplier": alpha, "resolution": res, "num_classes": 1001},
            )
        )
    return Table(
        "checkpoints",
        "MobileNet v2 ImageNet checkpoints: million MACs and parameters",
        MOBILENETV2_SOURCE,
        tuple(rows),
        (
            "Parameters: conv weights + the 1001-way classifier with its biases; BatchNorm excluded. "
            "MACs: convs + classifier (residual additions are not multiply-accumulates).",
            "1.0/224: ours 300.78 M rounds to 301, published 300 (the README's text says ~300 MMAdds); "
            "every other row rounds to the published figure.",
        ),
    )


def dscnn_figures(size: str) -> dict[str, int]:
    """Our exact DS-CNN figures: MACs, folded params, peak activations, conv outputs, ops."""
    c = _count("ds_cnn", (1, 49, 10), size=size)
    convs = [(row, spec) for row, spec in c.layers if spec is not None]
    folded = c.counted_params + sum(spec.out_channels for _, spec in convs)
    # shapes of one sample (batch 1): the numel of (1, C, H, W) is that of (C, H, W)
    peak = max(_numel(row["input_shape"]) + _numel(row["output_shape"]) for row, _ in c.layers)
    outputs = sum(_numel(row["output_shape"]) for row, _ in convs)
    return {
        "macs": c.macs,
        "flops_folded": 2 * c.macs,
        "params_counted": c.counted_params,
        "params_folded": folded,
        "params_numel": c.params,
        "peak_activations": peak,
        "memory_bytes_int8": folded + peak,
        "conv_outputs": outputs,
        "ops": 2 * c.macs + outputs,
    }


def _numel(shape: list[int] | tuple[int, ...]) -> int:
    n = 1
    for v in shape:
        n *= v
    return n


def dscnn_table() -> Table:
    """DS-CNN S/M/L: memory (KB, 8-bit) and operations, ours beside Hello Edge's."""
    rows = []
    for size, mem_kb, ops_m, acc in DSCNN_PUBLISHED:
        f = dscnn_figures(size)
        rows.append(
            Row(
                f"DS-CNN {size}",
                (
                    Cell("MACs", f["macs"], MILLION),
                    Cell("Params (BN folded)", f["params_folded"], 1000, unit="K"),
                    Cell("Memory (8-bit)", f["memory_bytes_int8"], 1000, _pub(mem_kb), "KB"),
                    Cell("Operations", f["ops"], MILLION, _pub(ops_m)),
                ),
                {"size": size, "published_accuracy_percent": acc, **f},
            )
        )
    return Table(
        "ds-cnn",
        "DS-CNN S / M / L (49×10 MFCC, 12 classes): memory and operations per inference",
        DSCNN_SOURCE,
        tuple(rows),
        (
            "Params (BN folded) = conv weights + one bias per conv output channel + the fully connected "
            "layer: BatchNorm folded into the preceding conv, as deployed.",
            "Memory (8-bit) = folded params + the largest input+output activation of one layer, one byte "
            "each (our reading of the paper's convention; it reproduces all three published figures).",
            "Operations = 2·MACs (a multiply and an add) + one operation per conv output element "
            "(BatchNorm/ReLU); inferred convention, it reproduces the published figures within their "
            "rounding.",
        ),
    )


#: paper → table key → builder of the reproduced table (in print order).
PAPERS: dict[str, dict[str, Any]] = {
    "mobilenet": {
        "table4": mobilenet_table4,
        "table6": mobilenet_table6,
        "table7": mobilenet_table7,
        "table2": mobilenet_table2,
        "table3": mobilenet_table3,
    },
    "mobilenetv2": {"checkpoints": mobilenetv2_table},
    "ds-cnn": {"ds-cnn": dscnn_table},
}


def paper_tables(name: str, table: str | None = None) -> list[Table]:
    """The reproduced tables of a paper ('mobilenet', 'mobilenetv2' or 'ds-cnn'), or only `table`.

    Raises:
        ConfigError: unknown paper or table.
    """
    if name not in PAPERS:
        raise config_error(f"`paper` must be one of {', '.join(PAPERS)}.", paper=name)
    builders = PAPERS[name]
    if table is None:
        return [build() for build in builders.values()]
    if table not in builders:
        raise config_error(f"`--table` must be one of {', '.join(builders)}.", table=table)
    return [builders[table]()]
