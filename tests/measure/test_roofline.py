"""The roofline's per-layer counts are `convwise.profile`'s rows; the probe and the prediction arithmetic."""

from __future__ import annotations

import time

import pytest
import torch
from torch import nn

from bn_nets import randomize_bn
from convwise import deploy
from convwise.layers import classify_conv
from convwise.measure import roofline
from convwise.measure.roofline import MachinePeak, RooflineLayer, layer_costs, measure_layers, probe_machine
from convwise.profile import profile


def _single(module: nn.Module, shape: tuple[int, ...]) -> RooflineLayer:
    (cost,) = layer_costs(nn.Sequential(module).eval(), shape[1:], batch=shape[0])
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
def test_conv_work_and_bytes_match_worked_examples(
    conv: nn.Conv2d, shape: tuple[int, ...], mults: int, acc_adds: int, bias_adds: int
) -> None:
    cost = _single(conv, shape)
    assert cost.work == mults + acc_adds + bias_adds
    out = conv(torch.zeros(shape))
    params = sum(p.numel() for p in conv.parameters())
    assert cost.bytes == 4 * (params + torch.zeros(shape).numel() + out.numel())


def test_batch_scales_work() -> None:
    assert _single(nn.Conv2d(3, 2, 3), (4, 3, 5, 5)).work == 4 * (486 + 468 + 18)


def test_elementwise_layers_follow_the_profiler_conventions() -> None:
    """BatchNorm 2 ops per element, max pooling k−1 comparisons per output: the profile's conventions."""
    shape = (8, 6, 6)
    bn = _single(nn.BatchNorm2d(8), (1, *shape))
    pool = _single(nn.MaxPool2d(3), (1, *shape))
    assert bn.work == 2 * 8 * 6 * 6  # (x − μ)·s, then + β: hand-derived for eval-mode BN
    assert pool.work == 8 * 2 * 2 * (9 - 1)  # 2×2 outputs per channel, 8 comparisons each
    assert bn.bytes == 4 * (2 * 8 + 2 * 8 * 6 * 6)  # γ, β + input + output; running stats are not weights


@pytest.mark.parametrize(
    ("name", "config", "shape"),
    [
        ("mobilenet_v1", {"width_multiplier": 0.25, "resolution": 96}, (3, 96, 96)),
        ("fashion_separable_cnn", {}, (1, 28, 28)),
        ("kws_cnn", {}, (1, 34, 13)),
    ],
)
def test_totals_equal_the_profiler(name: str, config: dict, shape: tuple[int, ...]) -> None:
    from convwise.models import build

    model = build(name, **config).eval()
    costs = layer_costs(model, shape, batch=2)
    totals = profile(model, shape, batch=2).totals
    assert sum(c.work for c in costs) == totals["flops"] + totals["other_ops"]
    assert sum(c.bytes for c in costs) == totals["bytes_moved"]


def test_conv_kind_is_the_classifiers_even_for_a_1x1_depthwise_conv() -> None:
    convs = [nn.Conv2d(4, 4, 1, groups=4), nn.Conv2d(4, 8, 3, groups=4), nn.Conv2d(4, 4, 3, groups=4)]
    for conv in convs:
        assert _single(conv, (1, 4, 6, 6)).kind == classify_conv(conv).kind


def test_free_rows_are_exactly_what_deploy_removed(bn_net: nn.Module) -> None:
    """Predicted free: the BatchNorms deploy folded and the activations it fused, nothing else."""
    x = torch.randn(1, 1, 28, 28)
    fast = deploy.optimize(bn_net, example=x)
    costs = layer_costs(bn_net, (1, 28, 28), removed=fast.removed)
    free = {c.name for c in costs if c.removed}
    inner = dict(fast.model.named_modules())
    assert free and all(isinstance(inner[name], nn.Identity) for name in free)
    was_free = {n for n, m in bn_net.named_modules() if isinstance(m, nn.BatchNorm2d | nn.ReLU)}
    assert free == was_free
    peak = MachinePeak(threads=1, gflops=100.0, dram_gbs=10.0, cache_gbs=50.0, cache_bytes=10**6)
    assert all(c.predict(peak) == 0.0 for c in costs if c.removed)


def test_an_activation_deploy_does_not_fuse_is_not_predicted_free() -> None:
    torch.manual_seed(0)
    net = randomize_bn(
        nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.GELU(), nn.Conv2d(4, 4, 1), nn.ReLU())
    )
    fast = deploy.optimize(net, example=torch.randn(1, 3, 8, 8))
    costs = {c.name: c for c in layer_costs(net, (3, 8, 8), removed=fast.removed)}
    assert costs["1"].removed == "folded" and costs["4"].removed == "fused"
    assert costs["2"].removed is None and costs["2"].work > 0


def test_a_removed_module_inside_a_folded_row_is_taken_off_that_row() -> None:
    from convwise.models import build

    net = build("fashion_separable_cnn").eval()
    report = profile(net, (1, 28, 28))
    whole = roofline.roofline_layers(report)
    leaf_rows = {c.name for c in whole}
    inner = next(
        n for n in report.nodes if n not in leaf_rows and report.nodes[n].unit and report.nodes[n].ops
    )
    row = next(c for c in whole if inner.startswith(c.name + "."))
    sub = report.subtree(inner)
    less = {c.name: c for c in roofline.roofline_layers(report, removed={inner: "fused"})}[row.name]
    assert less.work == row.work - (sub.mults + sub.acc_adds + sub.bias_adds + sub.other_ops)
    assert less.bytes == row.bytes - (sub.weight_bytes + sub.traffic_in + sub.traffic_out)


def test_roofline_arithmetic() -> None:
    peak = MachinePeak(threads=1, gflops=100.0, dram_gbs=10.0, cache_gbs=50.0, cache_bytes=1_000_000)
    compute = RooflineLayer("a", "Conv2d", "standard", work=10**9, bytes=10**6)
    memory = RooflineLayer("b", "Conv2d", "depthwise", work=10**6, bytes=10**8)
    cached = RooflineLayer("c", "Conv2d", "depthwise", work=10**3, bytes=10**5)
    assert compute.predict(peak) == pytest.approx(10**9 / 100e9)
    assert compute.bound(peak) == "compute"
    assert memory.predict(peak) == pytest.approx(10**8 / 10e9)
    assert memory.bound(peak) == "memory"
    assert cached.predict(peak) == pytest.approx(10**5 / 50e9)
    assert peak.ridge() == pytest.approx(10.0) and peak.ridge(cached=True) == pytest.approx(2.0)


@pytest.mark.parametrize("cache_seconds", [1e-3, 1.0])
def test_probe_turns_timings_into_rates(monkeypatch: pytest.MonkeyPatch, cache_seconds: float) -> None:
    """With the timer replaced by known seconds, the probe's rates follow from its buffer sizes."""
    llc = 8 * 2**20
    seconds = iter([0.02, 0.05, cache_seconds])  # matmul, large copy, 20 cached copies
    monkeypatch.setattr(roofline, "_llc_bytes", lambda: llc)
    monkeypatch.setattr(roofline, "_best_seconds", lambda fn, repeats: next(seconds))
    peak = probe_machine(1, repeats=1)
    assert peak.gflops == pytest.approx(2 * 1024**3 / 0.02 / 1e9)
    big = min(max(4 * llc, 64 * 2**20), 512 * 2**20)
    assert peak.dram_gbs == pytest.approx(2 * big / 0.05 / 1e9)
    cache = 20 * 2 * (llc // 8) / cache_seconds / 1e9
    # a cached copy measured slower than main memory (a busy machine) is reported at main memory's rate
    assert peak.cache_gbs == pytest.approx(max(cache, peak.dram_gbs))
    assert (peak.cache_gbs > peak.dram_gbs) == (cache_seconds == 1e-3)
    assert peak.cache_bytes == llc // 2


class _Slow(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        time.sleep(0.02)
        return x + 1


class _OwnOps(nn.Module):
    """A parent with its own op (the `* 2`) and a slow child."""

    def __init__(self) -> None:
        super().__init__()
        self.slow = _Slow()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.slow(x) * 2


def test_layer_times_go_to_their_rows() -> None:
    net = _OwnOps()
    layers = layer_costs(net, (4,))
    assert [layer.name for layer in layers] == ["", "slow"]
    own, slow = measure_layers(net, torch.zeros(1, 4), layers, repeats=2)
    assert slow >= 0.02  # the sleep is in the child's row …
    assert own < slow / 2  # … and not in the parent's own ops


def test_real_probe_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(roofline, "_llc_bytes", lambda: 2**20)  # small buffers: a fast test
    peak = probe_machine(1, repeats=1)
    assert peak.threads == 1 and peak.gflops > 0 and peak.dram_gbs > 0
