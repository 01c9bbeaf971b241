"""MobileNet v1 (Tables 2, 3, 4, 6, 7) and v2 (checkpoints): the counting recipe of each table.

Every figure in a table and in its notes is computed here (exact, from `convwise.profile` and
`convwise.core`); only the published figures come from `convwise.models.papers.published`.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from convwise.core import fmt, layer_cost, make_spec, scale_channels, scale_resolution
from convwise.models.papers.counting import Counted, count
from convwise.models.papers.published import (
    MOBILENET_SOURCE,
    MOBILENET_TABLE2,
    MOBILENET_TABLE3,
    MOBILENET_TABLE4,
    MOBILENET_TABLE6,
    MOBILENET_TABLE7,
    MOBILENET_V1_160_TF_CHECKPOINT,
    MOBILENETV2_CHECKPOINTS,
    MOBILENETV2_SOURCE,
)
from convwise.models.papers.table import MILLION, Cell, Published, Row, Table


def _mobilenet(**config: Any) -> Counted:
    res = config.get("resolution", 224)
    return count("mobilenet_v1", (3, res, res), **config)


def _pub(value: float | None) -> Published | None:
    return None if value is None else Published.of(value)


def _mc(macs: int, params: int, pub_macs: float | None, pub_params: float | None) -> tuple[Cell, Cell]:
    return (
        Cell("Mult-Adds", macs, MILLION, _pub(pub_macs)),
        Cell("Parameters", params, MILLION, _pub(pub_params)),
    )


def _millions(value: int | Fraction, decimals: int = 2) -> str:
    """e.g. 4,866.27 M."""
    return f"{float(Fraction(value) / MILLION):,.{decimals}f} M"


def _percent(part: int | Fraction, whole: int | Fraction, decimals: int = 2) -> str:
    return f"{float(100 * Fraction(part) / Fraction(whole)):.{decimals}f} %"


def mobilenet_table4() -> Table:
    """Table 4: MobileNet with full convolutions vs depthwise-separable ones (α = 1, 224)."""
    counted = {conv: _mobilenet(conv_kind=conv) for _, conv, _, _ in MOBILENET_TABLE4}
    rows = tuple(
        Row(label, _mc(counted[conv].macs, counted[conv].counted_params, macs, params), {"conv_kind": conv})
        for label, conv, macs, params in MOBILENET_TABLE4
    )
    (conv_label, _, conv_pub, _), (sep_label, _, sep_pub, _) = MOBILENET_TABLE4
    full, sep = counted["standard"], counted["separable"]
    above = full.macs - conv_pub * MILLION
    without = full.macs - full.linear_macs
    rounds = "rounds" if Published.of(conv_pub).close(Fraction(without, MILLION)) else "does not round"
    return Table(
        "table4",
        "Table 4. Depthwise Separable vs Full Convolution MobileNet (224, α = 1)",
        MOBILENET_SOURCE + ", Table 4",
        rows,
        (
            f"{conv_label}: every depthwise-separable block replaced by one 3×3 standard conv with the "
            "same channels and stride (conv_kind='standard').",
            f"{conv_label}: ours is {_millions(above)} ({_percent(above, conv_pub * MILLION)}) above the "
            f"paper; without the classifier's {fmt(full.linear_macs)} Mult-Adds it is {_millions(without)}, "
            f"which {rounds} to the published {conv_pub:g}, so the paper seems to leave the fully connected "
            f"layer out of this row (its {sep_label} row, {sep_pub:g}, includes it: "
            f"{_millions(sep.macs - sep.linear_macs, 1)} without).",
        ),
    )


def mobilenet_table6() -> Table:
    """Table 6: width multiplier α ∈ {1, 0.75, 0.5, 0.25} at 224."""
    rows = []
    for alpha, macs, params in MOBILENET_TABLE6:
        c = _mobilenet(width_multiplier=alpha)
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
    counted = {}
    for res, macs, params in MOBILENET_TABLE7:
        counted[res] = c = _mobilenet(resolution=res)
        rows.append(
            Row(f"1.0 MobileNet-{res}", _mc(c.macs, c.counted_params, macs, params), {"resolution": res})
        )
    odd = [
        (res, pub)
        for (res, pub, _), row in zip(MOBILENET_TABLE7, rows, strict=True)
        if not row.cells[0].matches
    ]
    notes = ["'same' padding as TensorFlow; taps over padding zeros are counted (docs/cost-model.md)."]
    for res, pub in odd:
        c = counted[res]
        notes.append(
            f"MobileNet-{res}: ours {_millions(c.macs)} vs the published {pub:g} "
            f"({_percent(c.macs - pub * MILLION, c.macs)}): the other rows round to the nearest million with "
            f"the classifier included; {pub:g} is what truncation, or leaving the classifier out "
            f"({_millions(c.macs - c.linear_macs)}), gives. No single convention reproduces all "
            f"{len(rows)} rows; TensorFlow's own checkpoint table (tensorflow/models research/slim/nets/"
            f"mobilenet_v1.md) lists {MOBILENET_V1_160_TF_CHECKPOINT} M for MobileNet_v1_1.0_{res}"
            + (", as we count." if round(c.macs / MILLION) == MOBILENET_V1_160_TF_CHECKPOINT else ".")
        )
    return Table(
        "table7", "Table 7. MobileNet Resolution", MOBILENET_SOURCE + ", Table 7", tuple(rows), tuple(notes)
    )


def table2_layer_type(kind: str, kernel: tuple[int, int] | None) -> str:
    """Table 2's layer type of a counted layer.

    >>> table2_layer_type("depthwise", (3, 3)), table2_layer_type("pointwise", (1, 1))
    ('Conv DW 3×3', 'Conv 1×1')
    """
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
        return table2_layer_type(spec.kind, spec.kernel_size)
    return table2_layer_type("linear", None) if row.get("kind") == "linear" else None


def _weight_params(model: Any, row: dict[str, Any], spec: Any) -> int:
    """Weights of a counted layer, biases left out: from its conv spec, or a Linear's weight."""
    if spec is not None:
        return sum(stage.weight_params() for stage in spec.stages)
    name = "" if row["name"] == "(top level)" else row["name"]
    return int(model.get_submodule(name).weight.numel())


def mobilenet_table2() -> Table:
    """Table 2: share of Mult-Adds and parameters by layer type (α = 1, 224)."""
    from convwise.profile.breakdown import by_layer_type

    c = _mobilenet()
    layers = [({**row, "weight_params": _weight_params(c.model, row, spec)}, spec) for row, spec in c.layers]
    keys = ("macs", "weight_params", "params")
    groups = {g["type"]: g for g in by_layer_type(layers, _table2_type, keys=keys, shares=())}
    total = {k: sum(g[k] for g in groups.values()) for k in keys}

    def share(label: str, key: str) -> Fraction:
        return Fraction(100 * groups.get(label, {}).get(key, 0), total[key])

    rows = tuple(
        Row(
            label,
            (
                Cell("Mult-Adds", share(label, "macs"), 1, Published.of(pm), "%"),
                Cell("Parameters", share(label, "weight_params"), 1, Published.of(pp), "%"),
            ),
            {
                "mult_adds": groups.get(label, {}).get("macs", 0),
                "parameters": groups.get(label, {}).get("weight_params", 0),
            },
        )
        for label, pm, pp in MOBILENET_TABLE2
    )
    notes = [
        f"Totals: {fmt(total['macs'])} Mult-Adds (convs + fully connected), {fmt(total['weight_params'])} "
        "parameters = weights only, the paper's convention here (BatchNorm and the classifier's "
        f"{fmt(total['params'] - total['weight_params'])} biases left out: with the biases the shares are "
        f"{_percent(share('Conv 1×1', 'params'), 100)} for 1×1 and "
        f"{_percent(share('Fully Connected', 'params'), 100)} for the fully connected layer).",
    ]
    printed = sum(Fraction(str(pm)) for _, pm, _ in MOBILENET_TABLE2)
    for row, (label, pm, _) in zip(rows, MOBILENET_TABLE2, strict=True):
        if row.cells[0].matches:
            continue
        (conv_row, spec), *_ = [(r, s) for r, s in c.layers if _table2_type(r, s) == label]
        _, cout, ho, wo = conv_row["output_shape"]
        kh, kw = spec.kernel_size
        notes.append(
            f"Published erratum: the paper's Mult-Adds column sums to {float(printed):.2f} %; the "
            f"{label.removeprefix('Conv ')} conv (the stem, {ho}·{wo}·{cout}·{spec.in_channels}·{kh}·{kw} "
            f"= {fmt(conv_row['macs'])} Mult-Adds) is {_percent(conv_row['macs'], total['macs'])} of the "
            f"total, printed as {pm} % (probably transposed digits). Ours sums to 100 %."
        )
    return Table(
        "table2",
        "Table 2. Resource Per Layer Type (MobileNet, 224, α = 1)",
        MOBILENET_SOURCE + ", Table 2",
        rows,
        tuple(notes),
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
        c = count("mobilenet_v2", (3, res, res), width_multiplier=alpha, resolution=res, num_classes=1001)
        rows.append(
            Row(
                f"mobilenet_v2_{alpha}_{res}",
                _mc(c.macs, c.counted_params, macs, params),
                {"width_multiplier": alpha, "resolution": res, "num_classes": 1001},
            )
        )
    notes = [
        "Parameters: conv weights + the 1001-way classifier with its biases; BatchNorm excluded. "
        "MACs: convs + classifier (residual additions are not multiply-accumulates)."
    ]
    odd = [
        (row, pub)
        for row, (_, _, pub, _) in zip(rows, MOBILENETV2_CHECKPOINTS, strict=True)
        if not row.cells[0].matches
    ]
    for row, pub in odd:
        alpha, res = row.config["width_multiplier"], row.config["resolution"]
        ours = row.cells[0].scaled
        notes.append(
            f"{alpha}/{res}: ours {float(ours):.2f} M rounds to {round(ours)}, published {pub:g} (the "
            f"README's text says ~{pub:g} MMAdds); "
            + ("every other row rounds to the published figure." if len(odd) == 1 else "")
        )
    return Table(
        "checkpoints",
        "MobileNet v2 ImageNet checkpoints: million MACs and parameters",
        MOBILENETV2_SOURCE,
        tuple(rows),
        tuple(notes),
    )
