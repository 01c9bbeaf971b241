"""Zoo models: params equal numel layer by layer, published figures, SPEC §4 rows, forwards, meta builds."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from convwise.core import ConfigError, layer_cost
from convwise.layers import ConvVariant
from convwise.layers.classify import conv_like_modules
from convwise.models import build, get_entry, list_models, register
from convwise.models.mobilenet import MOBILENET_V1_BLOCKS
from convwise.profile import profile
from convwise.profile.breakdown import counted_layers


def _numel(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@dataclass(frozen=True)
class _Layer:
    """A conv or fully connected row of the profile, with core's cost of a conv (for cross-checks)."""

    name: str
    kind: str
    output_shape: tuple[int, ...]
    params: int
    macs: int
    cost: Any  # core's LayerCost of a conv, None for a fully connected layer


@dataclass(frozen=True)
class _Counted:
    layers: tuple[_Layer, ...]
    macs: int
    counted_params: int
    params: int

    def by_name(self) -> dict[str, _Layer]:
        return {layer.name: layer for layer in self.layers}


def count_model(model: nn.Module, shape: tuple[int, ...]) -> _Counted:
    """The zoo's counts as `convwise paper` takes them from `convwise.profile` (an eval-mode copy)."""
    report = profile(copy.deepcopy(model).eval(), shape)
    layers = []
    for row, spec in counted_layers(report):
        cost = None if spec is None else layer_cost(spec, tuple(row["input_shape"][1:]))
        kind = "linear" if spec is None else spec.kind
        out = tuple(row["output_shape"][1:])
        layers.append(_Layer(row["name"], kind, out, row["params"], row["macs"], cost))
    return _Counted(
        tuple(layers),
        sum(layer.macs for layer in layers),
        sum(layer.params for layer in layers),
        report.totals["params"],
    )


ZOO_CONFIGS = [
    ("mobilenet_v1", {"resolution": 32}),
    ("mobilenet_v1", {"width_multiplier": 0.25, "resolution": 48, "conv_kind": "standard"}),
    ("mobilenet_v1", {"width_multiplier": 0.5, "resolution": 40, "rounding": "tf"}),
    ("mobilenet_v2", {"resolution": 32}),
    ("mobilenet_v2", {"width_multiplier": 0.35, "resolution": 40}),
    ("fashion_separable_cnn", {}),
    ("kws_cnn", {"conv_kind": "standard"}),
    ("kws_cnn", {"conv_kind": "depthwise"}),
    ("kws_cnn", {"conv_kind": "separable", "num_classes": 12}),
    ("ds_cnn", {"size": "S"}),
    ("ds_cnn", {"size": "M"}),
    ("ds_cnn", {"size": "L"}),
]


def test_every_registered_model_is_exercised() -> None:
    assert {e.name for e in list_models()} <= {name for name, _ in ZOO_CONFIGS}


@pytest.mark.parametrize(("name", "config"), ZOO_CONFIGS)
def test_forward_and_counts_equal_numel(name: str, config: dict) -> None:
    torch.manual_seed(0)
    model = build(name, **config).eval()
    shape = get_entry(name).shape_for(**config)
    with torch.no_grad():
        y = model(torch.randn(2, *shape))
    assert y.shape[0] == 2 and torch.isfinite(y).all()
    counted = count_model(model, shape)
    # every conv's core params equal its torch numel; convs + linears + BN affine = numel of the model
    for layer_name, module in conv_like_modules(model):
        assert counted.by_name()[layer_name].params == _numel(module), layer_name
        assert counted.by_name()[layer_name].cost.counts.params == _numel(module), layer_name
    bn = sum(_numel(m) for m in model.modules() if isinstance(m, nn.BatchNorm2d))
    assert counted.counted_params + bn == _numel(model) == counted.params
    # output shapes from core equal the real forward
    real: dict[str, tuple[int, ...]] = {}
    hooks = [
        m.register_forward_hook(lambda mod, a, out, n=n: real.__setitem__(n, tuple(out.shape[1:])))
        for n, m in conv_like_modules(model)
    ]
    with torch.no_grad():
        model(torch.randn(1, *shape))
    for h in hooks:
        h.remove()
    for layer in counted.layers:
        if layer.kind != "linear":
            assert real[layer.name] == layer.output_shape == layer.cost.output_shape[1:]


@pytest.mark.parametrize("name", ["mobilenet_v1", "mobilenet_v2", "ds_cnn", "kws_cnn"])
def test_builds_on_meta(name: str) -> None:
    model = build(name, device="meta")
    assert all(p.device.type == "meta" for p in model.parameters())
    assert all(isinstance(m, ConvVariant) for _, m in conv_like_modules(model))


def _mobilenet_brute(alpha_channels: list[int], res: int, standard: bool = False) -> tuple[int, int]:
    """MACs and weight params of MobileNet v1 from Table 1 with plain arithmetic (no convwise)."""
    side = -(-res // 2)
    c = alpha_channels[0]
    macs, params = side * side * c * 3 * 9, c * 3 * 9
    for block, out in zip(MOBILENET_V1_BLOCKS, alpha_channels[1:], strict=True):
        side = -(-side // block.stride)
        if standard:
            macs += side * side * c * out * 9
            params += c * out * 9
        else:
            macs += side * side * c * 9 + side * side * c * out
            params += c * 9 + c * out
        c = out
    return macs + c * 1000, params + c * 1000 + 1000


@pytest.mark.parametrize(
    ("alpha", "res", "conv", "pub_macs", "pub_params"),
    [
        (1.0, 224, "separable", 569, 4.2),
        (0.75, 224, "separable", 325, 2.6),
        (0.5, 224, "separable", 149, 1.3),
        (0.25, 224, "separable", 41, 0.5),
        (1.0, 192, "separable", 418, 4.2),
        (1.0, 128, "separable", 186, 4.2),
        (1.0, 224, "standard", None, 29.3),
    ],
)
def test_mobilenet_matches_brute_force_and_paper(
    alpha: float, res: int, conv: str, pub_macs: int | None, pub_params: float
) -> None:
    channels = [int(alpha * c) for c in (32, *(b.out_channels for b in MOBILENET_V1_BLOCKS))]
    macs, params = _mobilenet_brute(channels, res, conv == "standard")
    model = build("mobilenet_v1", width_multiplier=alpha, resolution=res, conv_kind=conv, device="meta")
    counted = count_model(model, (3, res, res))
    assert counted.macs == macs
    assert counted.counted_params == params
    assert round(params / 1e6, 1) == pub_params
    if pub_macs is not None:
        assert round(macs / 1e6) == pub_macs


def test_mobilenet_rows_that_differ_from_the_paper_are_the_known_ones() -> None:
    # Table 7, 160: 290.68 M (paper 290); Table 4 Conv MobileNet 4867.29 M (paper 4866 = without the FC)
    m160 = count_model(build("mobilenet_v1", resolution=160, device="meta"), (3, 160, 160))
    assert m160.macs == 290_675_200
    conv = count_model(build("mobilenet_v1", conv_kind="standard", device="meta"), (3, 224, 224))
    assert round((conv.macs - 1024 * 1000) / 1e6) == 4866


def test_seed_fashion_cnn_is_spec_layer_by_layer() -> None:
    model = build("fashion_separable_cnn")
    per_layer = [_numel(m) for m in model.children() if _numel(m)]
    assert per_layer == [320, 1344, 2400, 4736, 8896, 17664, 147584, 1290]
    assert _numel(model) == 184_234
    assert count_model(model, (1, 28, 28)).counted_params == 184_234


@pytest.mark.parametrize(
    ("form", "layer", "params", "mults", "out"),
    [
        ("standard", "conv2d", 5248, 230_400, (128, 9, 5)),
        ("standard", "conv2d_1", 147_584, 3_096_576, (128, 7, 3)),
        ("depthwise", "depthwise_conv2d", 1280, 24_192, (128, 7, 3)),
        ("separable", "separable_conv2d", 1280 + 16_512, 24_192 + 344_064, (128, 7, 3)),
    ],
)
def test_kws_front_end_is_spec_section_4(form: str, layer: str, params: int, mults: int, out: tuple) -> None:
    model = build("kws_cnn", conv_kind=form)
    assert _numel(getattr(model, layer)) == params
    row = count_model(model, (1, 34, 13)).by_name()[layer]
    assert (row.params, row.macs, row.output_shape) == (params, mults, out)


@pytest.mark.parametrize(
    ("size", "memory_kb", "ops_m", "folded"),
    [("S", 38.6, 5.4, 22_604), ("M", 189.2, 19.8, 135_032), ("L", 497.6, 56.9, 410_700)],
)
def test_ds_cnn_matches_hello_edge(size: str, memory_kb: float, ops_m: float, folded: int) -> None:
    from convwise.models.papers import dscnn_figures

    f = dscnn_figures(size)
    # BN-folded params = numel of the original (conv biases + BN) minus BatchNorm's parameters
    original = build("ds_cnn", size=size, conv_bias=True)
    bn = sum(_numel(m) for m in original.modules() if isinstance(m, nn.BatchNorm2d))
    assert f["params_folded"] == _numel(original) - bn == folded
    assert round(f["memory_bytes_int8"] / 1000, 1) == memory_kb
    assert round(f["ops"] / 1e6, 1) == ops_m


def test_registry_raises_on_duplicate_and_bad_config() -> None:
    with pytest.raises(ConfigError, match="already registered"):
        register("mobilenet_v1", description="x", input_shape=(3, 1, 1))(lambda: nn.Identity())
    with pytest.raises(
        ConfigError, match=r"`conv_kind` must be one of separable, standard\. Received: conv_kind='x'"
    ):
        build("mobilenet_v1", conv_kind="x")
    with pytest.raises(ConfigError, match=r"`size` must be one of S, M, L\. Received: size='XL'"):
        build("ds_cnn", size="XL")
    with pytest.raises(ConfigError, match=r"`conv_kind` must be one of standard, depthwise, separable"):
        build("kws_cnn", conv_kind="grouped")
    with pytest.raises(ConfigError, match=r"`rounding` must be one of paper, tf"):
        build("mobilenet_v1", rounding="up")


def test_tf_rounding_gives_multiples_of_eight() -> None:
    model = build("mobilenet_v1", width_multiplier=0.35, rounding="tf", device="meta")
    outs = [m.spec.out_channels for _, m in conv_like_modules(model)]
    assert all(c % 8 == 0 for c in outs)
    paper = build("mobilenet_v1", width_multiplier=0.35, device="meta")
    assert [m.spec.out_channels for _, m in conv_like_modules(paper)][:2] == [int(0.35 * 32)] * 2


@pytest.mark.parametrize(
    ("alpha", "res", "pub_macs", "pub_params"),
    [(1.4, 224, 582, 6.06), (1.0, 160, 154, 3.47), (0.75, 224, 209, 2.61), (0.35, 224, 59, 1.66)],
)
def test_mobilenet_v2_matches_published_checkpoints(
    alpha: float, res: int, pub_macs: int, pub_params: float
) -> None:
    model = build("mobilenet_v2", width_multiplier=alpha, resolution=res, num_classes=1001, device="meta")
    counted = count_model(model, (3, res, res))
    bn = sum(2 * m.num_features for m in model.modules() if isinstance(m, nn.BatchNorm2d))
    assert counted.counted_params == counted.params - bn  # core's conv params + linear = numel − BN
    assert round(counted.macs / 1e6) == pub_macs
    assert round(counted.counted_params / 1e6, 2) == pub_params


def test_mobilenet_v2_residuals() -> None:
    model = build("mobilenet_v2", device="meta")
    flags = [m.residual for n, m in model.named_children() if n.startswith("block_")]
    # Table 2: 17 blocks; the shortcut exists for the repeats of each row (stride 1, same channels)
    assert len(flags) == 17 and sum(flags) == 10


@pytest.mark.parametrize(
    ("name", "config"),
    [
        ("mobilenet_v1", {"resolution": 160}),
        ("mobilenet_v1", {"conv_kind": "standard", "resolution": 96}),
        ("mobilenet_v2", {"width_multiplier": 0.5, "resolution": 128}),
        ("ds_cnn", {"size": "L"}),
        ("kws_cnn", {"conv_kind": "separable", "num_classes": 12}),
    ],
)
def test_counts_agree_with_the_dispatch_level_profiler(name: str, config: dict) -> None:
    model = build(name, device="meta", **config)
    shape = get_entry(name).shape_for(**config)
    report = profile(model, shape)
    counted = count_model(model, shape)
    # every MAC of a zoo model is in its convs and fully connected layers (the papers' convention)
    assert (report.totals["macs"], report.totals["params"]) == (counted.macs, counted.params)
    # PyTorch's own count: 2 FLOPs per multiply-accumulate of conv / mm / addmm
    flops = FlopCounterMode(display=False)
    with flops, torch.no_grad():
        copy.deepcopy(model).eval()(torch.empty(1, *shape, device="meta"))
    assert flops.get_total_flops() == 2 * counted.macs
    assert counted.params == _numel(model)
