"""`convwise.profile.breakdown`: layer rows with conv specs and costs by layer type, against brute force."""

from __future__ import annotations

import pytest
from torch import nn

from convwise.profile import profile
from convwise.profile.breakdown import by_layer_type, counted_layers, layer_rows, layer_type


def _net() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),  # 0: standard 3×3 on 3×10×10 → 8×10×10
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.Conv2d(8, 8, 3, groups=8, bias=False),  # 3: depthwise 3×3 → 8×8×8
        nn.Conv2d(8, 16, 1),  # 4: pointwise → 16×8×8
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(16, 10),  # 7
    )


# brute force: MACs = output elements × taps per output; params = numel
MACS = {"0": 8 * 10 * 10 * 3 * 9, "3": 8 * 8 * 8 * 9, "4": 16 * 8 * 8 * 8, "7": 16 * 10}
PARAMS = {"0": 8 * 3 * 9 + 8, "3": 8 * 9, "4": 16 * 8 + 16, "7": 16 * 10 + 10}


def test_counted_layers_are_the_convs_and_the_linear_with_their_specs() -> None:
    report = profile(_net().eval(), (3, 10, 10))
    counted = counted_layers(report)
    assert [row["name"] for row, _ in counted] == ["0", "3", "4", "7"]
    assert {row["name"]: row["macs"] for row, _ in counted} == MACS
    assert {row["name"]: row["params"] for row, _ in counted} == PARAMS
    kinds = [None if spec is None else (spec.kind, spec.kernel_size) for _, spec in counted]
    assert kinds == [("standard", (3, 3)), ("depthwise", (3, 3)), ("pointwise", (1, 1)), None]
    # every row of the report is in layer_rows; specs only on convs
    rows = layer_rows(report)
    assert [r["name"] for r, _ in rows] == [r["name"] for r in report.rows()]
    assert sum(spec is not None for _, spec in rows) == 3


def test_by_layer_type_sums_and_shares() -> None:
    report = profile(_net().eval(), (3, 10, 10))
    groups = {g["type"]: g for g in by_layer_type(layer_rows(report), totals=report.totals)}
    assert groups["standard 3x3"]["macs"] == MACS["0"] and groups["linear"]["params"] == PARAMS["7"]
    assert groups["depthwise 3x3"]["macs"] == MACS["3"] and groups["pointwise 1x1"]["macs"] == MACS["4"]
    assert groups["BatchNorm2d"]["params"] == 16 and groups["BatchNorm2d"]["macs"] == 0
    assert sum(g["layers"] for g in groups.values()) == len(report.rows())
    assert sum(g["macs"] for g in groups.values()) == report.totals["macs"] == sum(MACS.values())
    assert sum(g["params_share"] for g in groups.values()) == pytest.approx(1.0)
    # largest MACs first
    order = [g["type"] for g in by_layer_type(layer_rows(report))]
    assert order[:2] == ["standard 3x3", "pointwise 1x1"]


def test_by_layer_type_with_a_custom_label_and_keys() -> None:
    report = profile(_net().eval(), (3, 10, 10))

    def label(row: dict, spec: object) -> str | None:
        return None if spec is None else ("3x3" if layer_type(row, spec).endswith("3x3") else "1x1")

    groups = by_layer_type(layer_rows(report), label, keys=("macs",), shares=("macs",))
    assert [(g["type"], g["layers"], g["macs"]) for g in groups] == [
        ("3x3", 2, MACS["0"] + MACS["3"]),
        ("1x1", 1, MACS["4"]),
    ]
    total = MACS["0"] + MACS["3"] + MACS["4"]
    assert groups[1]["macs_share"] == pytest.approx(MACS["4"] / total)
    assert "params" not in groups[0]
