"""Report accounting and rendering: depth folding, statuses, JSON Schema, CSV, Markdown, columns."""

from __future__ import annotations

import csv
import io
import json

import jsonschema
import pytest
import torch
from profile_nets import ConvBNNet, SharedNet
from torch import nn

from convwise.core import ConfigError
from convwise.models import build
from convwise.profile import SCHEMA_VERSION, load_schema, parse_columns, profile

SUMMED = (
    "params",
    "trainable_params",
    "non_trainable_params",
    "macs",
    "flops",
    "adds",
    "other_ops",
    "buffers",
)


@pytest.fixture(scope="module")
def mobilenet_report():
    return profile(build("mobilenet_v1", width_multiplier=0.5, resolution=96).eval(), (3, 96, 96))


def test_totals_independent_of_depth_and_rows_add_up(mobilenet_report) -> None:
    report = mobilenet_report
    totals = report.totals
    for depth in (None, 0, 1, 2, 3, 4):
        rows = report.rows(depth)
        assert report.to_dict(depth)["totals"] == totals
        for key in SUMMED:
            assert sum(r[key] for r in rows) == totals[key], (depth, key)
    assert len(report.rows(0)) == 1
    # the default view is one row per layer: convwise conv layers are not split into their inner Conv2d
    names = [r["name"] for r in report.rows()]
    assert "conv_dw_1" in names and "conv_dw_1.conv" not in names
    assert "conv_dw_1.conv.conv" in [r["name"] for r in report.rows(3)]


def test_json_validates_against_shipped_schema(mobilenet_report) -> None:
    schema = load_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    for report in (
        mobilenet_report,
        profile(SharedNet(), (6,), batch=4, keras=True),
        profile(ConvBNNet()),  # parameters only
    ):
        for depth in (None, 0, 2):
            payload = json.loads(report.to_json(depth))
            jsonschema.validate(payload, schema)
            assert payload["schema_version"] == SCHEMA_VERSION
    # the schema really constrains: a float count or a missing key is rejected
    bad = json.loads(mobilenet_report.to_json())
    bad["totals"]["macs"] = 1.5
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)
    del bad["layers"][0]["flops"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


def test_spec3_keys_and_identities(mobilenet_report) -> None:
    d = mobilenet_report.to_dict()
    for row in [*d["layers"], d["totals"]]:
        assert row["flops"] == row["mults"] + row["adds"]
        assert row["macs"] == row["mults"]
        assert row["adds"] == row["acc_adds"] + row["bias_adds"]
        assert row["params"] == row["trainable_params"] + row["non_trainable_params"]
    conv = next(r for r in d["layers"] if r["name"] == "conv_dw_2")
    assert conv["kind"] == "depthwise" and conv["type"] == "DepthwiseConv2d"
    assert conv["output_shape"] == [1, 32, 24, 24]


def test_op_without_formula_is_listed_not_zero() -> None:
    class Odd(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(4, 4)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.cumsum(self.fc(x), dim=-1)

    report = profile(Odd(), (4,), device="real")
    assert report.status == "partial"
    assert report.totals["status"] == "partial"
    assert report.totals["uncounted_ops"] == {"aten.cumsum": 1}
    top = report.rows()[0]
    assert top["status"] == "partial" and top["uncounted_ops"] == {"aten.cumsum": 1}
    fc = report.rows()[1]
    assert fc["status"] == "complete" and fc["macs"] == 16
    assert "aten.cumsum ×1" in report.render()
    assert "+?" in report.render()


def test_parameters_only_is_unavailable() -> None:
    report = profile(ConvBNNet())
    assert report.status == "unavailable"
    assert report.totals["params"] == sum(p.numel() for p in ConvBNNet().parameters())
    assert "unavailable" in report.render()


def test_keras_view_counts_bn_statistics() -> None:
    report = profile(ConvBNNet().eval(), (3, 8, 8), keras=True)
    bn = next(r for r in report.rows() if r["name"] == "bn1")
    assert (bn["params"], bn["trainable_params"], bn["non_trainable_params"]) == (32, 16, 16)
    assert bn["buffers"] == 8 + 8 + 1  # running mean, var, num_batches_tracked
    plain = next(r for r in report.with_keras(False).rows() if r["name"] == "bn1")
    assert (plain["params"], plain["non_trainable_params"]) == (16, 0)


def test_batch_scales_ops_not_params() -> None:
    model = ConvBNNet().eval()
    one, four = profile(model, (3, 8, 8)).totals, profile(model, (3, 8, 8), batch=4).totals
    assert four["params"] == one["params"]
    assert four["macs"] == 4 * one["macs"] and four["other_ops"] == 4 * one["other_ops"]


def test_several_inputs_and_example_tensors() -> None:
    class Two(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = nn.Linear(3, 5)
            self.b = nn.Linear(7, 5)

        def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            return self.a(x) + self.b(y)

    r = profile(Two(), [(3,), (7,)], batch=2)
    assert r.input_shapes == [[2, 3], [2, 7]]
    assert r.totals["macs"] == 2 * (3 * 5 + 7 * 5)
    t = profile(Two(), inputs=(torch.zeros(6, 3), torch.zeros(6, 7)))
    assert t.totals["macs"] == 6 * (3 * 5 + 7 * 5)
    assert t.batch is None and "for the inputs given" in t.conventions()["counts"]  # never read off a shape
    assert profile(Two(), inputs=(torch.zeros(6, 3), torch.zeros(6, 7)), batch=6).batch == 6


def test_csv_and_markdown(mobilenet_report) -> None:
    text = mobilenet_report.to_csv()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows[-1]["name"] == "TOTAL"
    assert int(rows[-1]["macs"]) == mobilenet_report.totals["macs"]
    assert sum(int(r["macs"]) for r in rows[:-1]) == mobilenet_report.totals["macs"]
    md = mobilenet_report.to_markdown(columns=["layer", "params", "macs"])
    lines = md.splitlines()
    assert lines[0] == "| Layer (type) | Param # | MACs |"
    assert lines[1] == "|---|---:|---:|"
    assert f"**{mobilenet_report.totals['macs']:,}**" in md


def test_table_reads_like_keras(mobilenet_report) -> None:
    text = mobilenet_report.render(columns=parse_columns("layer,output_shape,params,macs,flops,status"))
    assert 'Model: "MobileNetV1"' in text
    assert "conv_dw_1 (DepthwiseConv2d)" in text
    for label in ("Total params:", "Trainable params:", "Non-trainable params:", "MACs:", "status: complete"):
        assert label in text


def test_bad_arguments_messages() -> None:
    with pytest.raises(
        ConfigError, match=r"`columns` must be a comma-separated list of: .*Received: columns='nope'"
    ):
        parse_columns("nope")
    with pytest.raises(ConfigError, match=r"`input_size` must be a shape"):
        profile(nn.Linear(2, 2), "3x3")
    with pytest.raises(ConfigError, match=r"`batch` must be a positive integer\. Received: batch=0\."):
        profile(nn.Linear(2, 2), (2,), batch=0)
    with pytest.raises(ConfigError, match=r"`model` must be a torch\.nn\.Module"):
        profile(object(), (2,))  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"`depth` must be a non-negative integer"):
        profile(nn.Linear(2, 2), (2,)).rows(-1)


def test_rejected_input_names_module_and_shapes() -> None:
    model = ConvBNNet().eval()
    with pytest.raises(ConfigError) as info:
        profile(model, (4, 16, 16))
    msg = str(info.value)
    assert "`stem` (Conv2d)" in msg
    assert "input_shapes=[[1, 4, 16, 16]]" in msg and "\n" not in msg


def test_explain_substitutes_core_formulas_and_lists_ops(mobilenet_report) -> None:
    text = mobilenet_report.explain("conv_dw_2")
    # α = 0.5 at 96²: 32 channels, 48×48 → 24×24, stride 2, TF 'same' padding (0 before, 1 after)
    assert "multiplications = Cout·Ho·Wo·(Cin/g)·kh·kw = 32·24·24·(32/32)·3·3 = 165,888" in text
    assert "module SpecConv2d: ×1, mults 165,888" in text
    top = profile(SharedNet(), (6,)).explain("(top level)")
    assert "F.linear: ×" in top and "status complete" in top
    with pytest.raises(ConfigError, match=r"`name` must be a module of the model"):
        mobilenet_report.explain("nope")


def test_explain_a_linear_layer_with_core_formulas() -> None:
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU())
    text = profile(model, (5, 4), batch=2).explain("0")  # 2·5 = 10 rows of 4 features
    assert "linear layer 4→3 on 10 rows:" in text
    assert "multiplications = rows·in·out = 10·4·3 = 120" in text
    assert "bias additions = rows·out = 10·3 = 30" in text
    assert "total: MACs 120, FLOPs 240" in text  # the engine's count agrees with core's derivation
