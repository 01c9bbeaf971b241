"""In-place activations after folded convs, the compiled path with Inductor freezing, the allocator switch."""

from __future__ import annotations

import contextlib
import copy

import pytest
import torch
from torch import nn

from bn_nets import randomize_bn
from convwise import deploy
from convwise.deploy.fuse import FusedConv2d, inplace_activations


class _ReusesConvOutput(nn.Module):
    """relu(conv(x)) + conv(x): an in-place ReLU would overwrite the second operand."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        return self.act(y) + y


def test_relu_after_folded_conv_becomes_inplace_and_outputs_match(bn_net: nn.Module) -> None:
    x = torch.randn(4, 1, 28, 28)
    fast = deploy.optimize(bn_net, example=x[:1], fuse=False)
    relus = [n for n, m in fast.model.named_modules() if isinstance(m, nn.ReLU)]
    assert relus and sorted(fast.inplace) == sorted(relus)
    assert all(m.inplace for m in fast.model.modules() if isinstance(m, nn.ReLU))
    keep = x.clone()
    with torch.no_grad():
        ref = bn_net(x)
    torch.testing.assert_close(fast(x), ref, rtol=deploy.RTOL, atol=deploy.ATOL)
    assert torch.equal(x, keep)  # the caller's input is never written to


def test_activation_is_left_alone_when_the_conv_output_is_reused() -> None:
    torch.manual_seed(0)
    net = _ReusesConvOutput().eval()
    x = torch.randn(2, 3, 8, 8)
    assert inplace_activations(net, x) == []
    assert not net.act.inplace
    fast = deploy.optimize(net, example=x[:1])
    assert fast.fused == [] and fast.inplace == []  # fusing the ReLU into the conv would be wrong too
    with torch.no_grad():
        torch.testing.assert_close(fast(x), net(x), rtol=deploy.RTOL, atol=deploy.ATOL)


def test_activation_on_the_model_input_is_left_alone() -> None:
    net = nn.Sequential(nn.ReLU(), nn.Conv2d(3, 4, 1)).eval()
    x = torch.randn(2, 3, 8, 8)
    keep = x.clone()
    assert inplace_activations(net, x) == []
    deploy.optimize(net)(x)
    assert torch.equal(x, keep)


@pytest.mark.parametrize("fuse", [True, False])
def test_untraceable_model_is_fused_or_switched_on_first_call(fuse: bool) -> None:
    from convwise.models import build

    torch.manual_seed(0)
    net = randomize_bn(build("mobilenet_v1", width_multiplier=0.25, resolution=64, num_classes=10))
    fast = deploy.optimize(net, fuse=fuse)
    assert fast.inplace_pending and fast.fuse_pending == fuse
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        ref = net(x)
    torch.testing.assert_close(fast(x), ref, rtol=deploy.RTOL, atol=deploy.ATOL)
    if fuse:  # each of the 27 convs is one oneDNN call with its ReLU; no ReLU module is left
        assert len(fast.fused) == 27 and fast.inplace == []
        assert sum(isinstance(m, FusedConv2d) for m in fast.modules()) == 27
        assert not any(isinstance(m, nn.ReLU) for m in fast.modules())
    else:
        assert len(fast.inplace) == 27  # one ReLU after each of the 27 convs
    torch.testing.assert_close(fast(x), ref, rtol=deploy.RTOL, atol=deploy.ATOL)


def test_fused_convs_match_with_relu6_and_a_conv_without_activation() -> None:
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.BatchNorm2d(8),
        nn.ReLU6(),
        nn.Conv2d(8, 8, 3, groups=8),
        nn.Conv2d(8, 4, 1),
    )
    net = randomize_bn(net)
    x = torch.randn(3, 3, 12, 12) * 4  # large enough for ReLU6 to clip
    fast = deploy.optimize(net, example=x[:1])
    assert fast.fused == ["0", "3", "4"]
    kinds = [m.post_op for m in fast.modules() if isinstance(m, FusedConv2d)]
    assert kinds == ["hardtanh", "none", "none"]
    with torch.no_grad():
        ref = net(x)
    torch.testing.assert_close(fast(x), ref, rtol=deploy.RTOL, atol=deploy.ATOL)
    clone = copy.deepcopy(fast)  # the packed weights are not copied, and are rebuilt on the next call
    torch.testing.assert_close(clone(x), ref, rtol=deploy.RTOL, atol=deploy.ATOL)


def test_inplace_and_fusion_can_be_switched_off(bn_net: nn.Module) -> None:
    fast = deploy.optimize(bn_net, example=torch.randn(1, 1, 28, 28), inplace_act=False, fuse=False)
    assert fast.inplace == [] and fast.fused == []
    assert not any(isinstance(m, FusedConv2d) for m in fast.modules())
    assert not any(m.inplace for m in fast.model.modules() if isinstance(m, nn.ReLU))


def test_weights_are_packed_per_thread_count_and_shape(bn_net: nn.Module) -> None:
    """oneDNN's packed layout depends on the thread count it was packed for (5x slower if reused)."""
    from convwise.measure.roofline import threads

    x = torch.randn(2, 1, 28, 28)
    fast = deploy.optimize(bn_net, example=x[:1])
    with torch.no_grad():
        ref = bn_net(x)
    for n in (1, 2, 1):
        with threads(n):
            torch.testing.assert_close(fast(x), ref, rtol=deploy.RTOL, atol=deploy.ATOL)
    conv = next(m for m in fast.modules() if isinstance(m, FusedConv2d))
    assert {(n, shape[0]) for n, shape in conv._packed} >= {(1, 2), (2, 2)}


@pytest.mark.slow
def test_compiled_path_packs_weights_and_fuses_relu(bn_net: nn.Module) -> None:
    """Inductor's own counters show the oneDNN weight prepacking and conv+ReLU fusion of `freezing`."""
    from torch._dynamo.utils import counters

    counters.clear()
    x = torch.randn(3, 1, 28, 28)
    fast = deploy.optimize(bn_net, example=x[:1], compile=True)
    with torch.no_grad():
        ref = bn_net(x)
    torch.testing.assert_close(fast(x), ref, rtol=deploy.RTOL, atol=deploy.ATOL)
    assert counters["inductor"]["mkldnn_conv_weight_pack_matcher_count"] >= 1
    assert counters["inductor"]["mkldnn_unary_fusion_matcher_count"] >= 1
    from convwise.measure.roofline import threads

    other = 2 if torch.get_num_threads() == 1 else 1
    with threads(other):  # a second thread count gets its own compiled (and packed) copy
        torch.testing.assert_close(fast(x), ref, rtol=deploy.RTOL, atol=deploy.ATOL)
    assert len(fast._by_threads) == 2


_ALLOCATION_PROBE = """
import resource, sys, torch
from convwise import deploy
applied = deploy.tune_allocator() if sys.argv[1] == "tuned" else False
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
x = torch.ones(64 << 20, dtype=torch.uint8); del x
before = faults()
for _ in range(8):
    x = torch.ones(64 << 20, dtype=torch.uint8); del x
print(applied, faults() - before)
"""


def _page_faults(mode: str) -> tuple[bool, int]:
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", _ALLOCATION_PROBE, mode],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    applied, faults = out.stdout.split()
    return applied == "True", int(faults)


def test_tuned_allocator_stops_page_faulting_large_blocks_in_again() -> None:
    """In a fresh process (mallopt is process-wide): 64 MiB allocated and freed 8 times page-faults its
    memory in every time with glibc's defaults (a fresh mmap), about once with `tune_allocator`."""
    import platform

    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        pytest.skip("tune_allocator applies to glibc on Linux only")
    pages = (64 << 20) // 4096
    default_applied, default = _page_faults("default")
    tuned_applied, tuned = _page_faults("tuned")
    assert not default_applied and tuned_applied
    assert default >= 6 * pages  # the effect the tuning removes is there on this machine
    assert tuned <= 2 * pages


def test_packed_weights_are_bounded_for_variable_input_shapes(bn_net: nn.Module) -> None:
    from convwise.deploy.fuse import PACKED_CACHE_SIZE

    fast = deploy.optimize(bn_net, example=torch.randn(1, 1, 28, 28))
    conv = next(m for m in fast.modules() if isinstance(m, FusedConv2d))
    batches = range(1, PACKED_CACHE_SIZE + 4)
    for n in batches:
        x = torch.randn(n, 1, 28, 28)
        with torch.no_grad():
            torch.testing.assert_close(fast(x), bn_net(x), rtol=deploy.RTOL, atol=deploy.ATOL)
    kept = [shape[0] for _, shape in conv._packed]
    assert kept == list(batches)[-PACKED_CACHE_SIZE:]  # the most recent shapes, oldest dropped first


def test_outside_the_checked_torch_versions_nothing_private_is_used(
    bn_net: nn.Module, monkeypatch: pytest.MonkeyPatch
) -> None:
    from convwise.deploy import fuse, optimized

    monkeypatch.setattr(fuse, "torch_version", lambda: (9, 0))
    monkeypatch.setattr(optimized, "torch_version", lambda: (9, 0))
    x = torch.randn(2, 1, 28, 28)
    fast = deploy.optimize(bn_net, example=x[:1])
    assert fast.fused == [] and not any(isinstance(m, FusedConv2d) for m in fast.modules())
    assert len(fast.inplace) == 3  # the fallback: plain convs, activations in place
    with torch.no_grad():
        torch.testing.assert_close(fast(x), bn_net(x), rtol=deploy.RTOL, atol=deploy.ATOL)
    assert isinstance(optimized._inductor_freezing(True), contextlib.nullcontext)
