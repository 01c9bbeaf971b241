"""Per-layer FLOPs/bytes follow SPEC §2 (checked against its worked examples), and the roofline arithmetic."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from convwise.measure.roofline import LayerCost, MachinePeak, layer_costs, measure_layers, probe_machine


def _single(module: nn.Module, shape: tuple[int, ...]) -> LayerCost:
    (cost,) = [c for c in layer_costs(nn.Sequential(module), torch.zeros(shape)) if c.name == "0"]
    return cost


@pytest.mark.parametrize(
    ("conv", "shape", "mults", "acc_adds", "bias_adds"),
    [
        # SPEC §4 worked examples (per sample): 3x5x5 k3 2 filters; KWS first layer; depthwise; pointwise
        (nn.Conv2d(3, 2, 3), (1, 3, 5, 5), 486, 468, 18),
        (nn.Conv2d(1, 128, (10, 4), (3, 2)), (1, 1, 34, 13), 230_400, 224_640, 5_760),
        (nn.Conv2d(128, 128, 3, groups=128), (1, 128, 9, 5), 24_192, 21_504, 2_688),
        (nn.Conv2d(128, 128, 1), (1, 128, 7, 3), 344_064, 341_376, 2_688),
    ],
)
def test_conv_flops_match_worked_examples(
    conv: nn.Conv2d, shape: tuple[int, ...], mults: int, acc_adds: int, bias_adds: int
) -> None:
    cost = _single(conv, shape)
    assert cost.flops == mults + acc_adds + bias_adds
    out = conv(torch.zeros(shape))
    params = sum(p.numel() for p in conv.parameters())
    assert cost.bytes == 4 * (params + torch.zeros(shape).numel() + out.numel())


def test_batch_scales_flops() -> None:
    conv = nn.Conv2d(3, 2, 3)
    assert _single(conv, (4, 3, 5, 5)).flops == 4 * (486 + 468 + 18)


def test_linear_flops() -> None:
    # 128 -> 10 with bias: 1,280 mults, 127*10 accumulation adds, 10 bias adds
    assert _single(nn.Linear(128, 10), (1, 128)).flops == 1280 + 1270 + 10


def test_conv_kinds_and_fused_activation() -> None:
    model = nn.Sequential(
        nn.Conv2d(4, 4, 3, groups=4), nn.ReLU(), nn.Conv2d(4, 8, 1), nn.MaxPool2d(2), nn.ReLU(), nn.Flatten()
    )
    costs = layer_costs(model, torch.zeros(1, 4, 8, 8))
    assert [c.kind for c in costs] == ["depthwise", "ReLU", "pointwise", "MaxPool2d", "ReLU", "Flatten"]
    assert [c.fused for c in costs] == [False, True, False, False, False, False]
    assert costs[3].flops == 8 * 3 * 3 * 4  # max pooling: kernel taps per output element


def test_roofline_arithmetic() -> None:
    peak = MachinePeak(threads=1, gflops=100.0, dram_gbs=10.0, cache_gbs=50.0, cache_bytes=1_000_000)
    compute = LayerCost("a", "Conv2d", flops=10**9, bytes=10**6, kind="standard")
    memory = LayerCost("b", "Conv2d", flops=10**6, bytes=10**8, kind="depthwise")
    cached = LayerCost("c", "Conv2d", flops=10**3, bytes=10**5, kind="depthwise")
    assert compute.predict(peak) == pytest.approx(10**9 / 100e9)
    assert compute.bound(peak) == "compute"
    assert memory.predict(peak) == pytest.approx(10**8 / 10e9)
    assert memory.bound(peak) == "memory"
    assert cached.predict(peak) == pytest.approx(10**5 / 50e9)
    assert peak.ridge() == pytest.approx(10.0) and peak.ridge(cached=True) == pytest.approx(2.0)


def test_probe_and_layer_timing_return_positive_figures() -> None:
    peak = probe_machine(1, repeats=2)
    assert peak.gflops > 0 and peak.dram_gbs > 0 and peak.cache_gbs >= peak.dram_gbs
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU())
    times = measure_layers(model, torch.zeros(1, 1, 8, 8), repeats=2)
    assert len(times) == 2 and all(t > 0 for t in times)


@pytest.mark.parametrize(
    ("name", "config", "shape"),
    [
        ("mobilenet_v1", {"width_multiplier": 0.25, "resolution": 96}, (3, 96, 96)),
        ("fashion_separable_cnn", {}, (1, 28, 28)),
        ("kws_cnn", {}, (1, 34, 13)),
    ],
)
def test_conv_and_linear_flops_equal_the_profiler(name: str, config: dict, shape: tuple[int, ...]) -> None:
    """Independent oracle: `convwise.profile` counts the same ops through torch's dispatcher."""
    from convwise.models import build
    from convwise.profile import profile

    model = build(name, **config).eval()
    mine = sum(c.flops for c in layer_costs(model, torch.randn(2, *shape)) if c.type in ("Conv2d", "Linear"))
    assert mine == profile(model, shape, batch=2).totals["flops"]
