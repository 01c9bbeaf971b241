"""SPEC §2 memory per profile row: bytes of weights, inputs and outputs, and arithmetic intensity.

Oracles: the real tensors a real forward passes through every module (captured by forward hooks,
`numel() * element_size()`), and `convwise.core.layer_cost` for convwise conv layers.
"""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
import torch
from torch import nn

from convwise.core import layer_cost
from convwise.layers import DepthwiseConv2d, GroupedConv2d, SeparableConv2d, StandardConv2d
from convwise.profile import load_schema, parse_columns, profile


def _tensor_bytes(value: Any) -> int:
    if isinstance(value, torch.Tensor):
        return value.numel() * value.element_size()
    if isinstance(value, (tuple, list)):
        return sum(_tensor_bytes(v) for v in value)
    return 0


def _small_net() -> nn.Module:
    torch.manual_seed(0)
    act = nn.ReLU()  # called twice: its bytes are summed over the calls
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.BatchNorm2d(8),
        act,
        nn.Conv2d(8, 8, 3, stride=2, groups=8, bias=False),
        act,
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(8 * 3 * 3, 5),
    ).eval()


def _hooked_bytes(model: nn.Module, x: torch.Tensor) -> dict[str, list[int]]:
    """name → [input bytes, output bytes] over every call of a real forward (the independent count)."""
    seen: dict[str, list[int]] = {}
    handles = []
    for name, module in model.named_modules():
        if name and not any(True for _ in module.children()):

            def hook(mod: nn.Module, args: tuple[Any, ...], out: Any, name: str = name) -> None:
                entry = seen.setdefault(name, [0, 0])
                entry[0] += _tensor_bytes(args)
                entry[1] += _tensor_bytes(out)

            handles.append(module.register_forward_hook(hook))
    with torch.no_grad():
        model(x)
    for h in handles:
        h.remove()
    return seen


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
@pytest.mark.parametrize("batch", [1, 3])
def test_bytes_match_real_tensors_of_a_real_forward(dtype: torch.dtype, batch: int) -> None:
    model = _small_net().to(dtype)
    x = torch.randn(batch, 3, 14, 14, dtype=dtype)
    hooked = _hooked_bytes(model, x)
    report = profile(model, (3, 14, 14), batch=batch, dtype=dtype)
    rows = {r["name"]: r for r in report.rows()}
    # the shared ReLU is registered once, as "2"; module "4" is the same object
    assert set(rows) == {"0", "1", "2", "3", "5", "6", "7"}
    for name, row in rows.items():
        module = model.get_submodule(name)
        weights = sum(p.numel() * p.element_size() for p in module.parameters(recurse=False))
        assert row["weight_bytes"] == weights, name
        assert [row["input_bytes"], row["output_bytes"]] == hooked[name], name
        assert row["bytes_moved"] == weights + sum(hooked[name]), name
        if row["bytes_moved"]:
            assert row["arithmetic_intensity"] == pytest.approx(row["flops"] / row["bytes_moved"])
    assert rows["2"]["calls"] == 2
    totals = report.totals
    assert totals["weight_bytes"] == sum(p.numel() * p.element_size() for p in model.parameters())
    assert totals["input_bytes"] == sum(v[0] for v in hooked.values())
    assert totals["output_bytes"] == sum(v[1] for v in hooked.values())
    assert totals["bytes_moved"] == sum(r["bytes_moved"] for r in rows.values())
    assert totals["arithmetic_intensity"] == pytest.approx(totals["flops"] / totals["bytes_moved"])


def test_batch_scales_activation_bytes_not_weights() -> None:
    model = _small_net()
    one = profile(model, (3, 14, 14), batch=1).totals
    four = profile(model, (3, 14, 14), batch=4).totals
    assert four["weight_bytes"] == one["weight_bytes"]
    assert four["input_bytes"] == 4 * one["input_bytes"]
    assert four["output_bytes"] == 4 * one["output_bytes"]


def _conv_layers() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(
        StandardConv2d(3, 8, 3, stride=2, padding="same"),  # asymmetric TF padding, done in forward
        SeparableConv2d(8, 16, 3, padding="same"),
        DepthwiseConv2d(16, 3, stride=2),
        GroupedConv2d(16, 8, 3, groups=4, padding=1, bias=False),
    )


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
def test_conv_rows_equal_core_layer_cost(dtype: torch.dtype) -> None:
    """One source of truth: a convwise conv layer's row is `convwise.core.layer_cost` of its spec."""
    model = _conv_layers().to(dtype)
    report = profile(model, (3, 17, 15), batch=3, dtype=dtype)
    rows = report.rows()
    assert [r["name"] for r in rows] == ["0", "1", "2", "3"]
    name = str(dtype).removeprefix("torch.")
    for row, layer in zip(rows, model, strict=True):
        n, c, h, w = row["input_shape"]
        cost = layer_cost(layer.spec, (c, h, w), batch=n, dtype=name)
        assert row["weight_bytes"] == cost.weight_bytes
        assert row["input_bytes"] == cost.input_bytes
        assert row["output_bytes"] == cost.output_bytes
        assert row["bytes_moved"] == cost.bytes_moved
        assert row["flops"] == cost.counts.flops
        assert row["arithmetic_intensity"] == pytest.approx(float(cost.arithmetic_intensity))


def test_unavailable_without_input_and_columns() -> None:
    report = profile(_small_net())
    assert report.totals["input_bytes"] == 0 and report.totals["arithmetic_intensity"] is None
    assert report.totals["weight_bytes"] == sum(p.numel() * 4 for p in _small_net().parameters())
    ran = profile(_small_net(), (3, 14, 14))
    jsonschema.validate(ran.to_dict(), load_schema())
    assert "bytes_moved" not in ran.default_columns()
    keys = parse_columns("layer,bytes,intensity,weight_bytes")
    text = ran.render(columns=keys)
    assert "Bytes moved" in text and "FLOPs/B" in text and "Weight B" in text
    header = ran.to_csv().splitlines()[0].split(",")
    keys = {"weight_bytes", "input_bytes", "output_bytes", "bytes_moved", "arithmetic_intensity"}
    assert keys <= set(header)
