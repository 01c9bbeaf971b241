"""Totals against independent oracles: numel, FlopCounterMode (2 × MACs), brute force, SPEC §4."""

from __future__ import annotations

import itertools

import pytest
import torch
from profile_nets import ConvBNNet, FunctionalNet, SharedNet
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from convwise.models import build
from convwise.profile import profile


def flop_counter(model: nn.Module, *inputs: torch.Tensor) -> int:
    """PyTorch's own count (2 per multiply-accumulate of conv / mm / addmm / bmm / attention).

    Attention runs on its math backend (bmm + softmax): FlopCounterMode has no entry for the fused
    CPU kernel `_scaled_dot_product_flash_attention_for_cpu`.
    """
    from torch.nn.attention import SDPBackend, sdpa_kernel

    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad(), sdpa_kernel(SDPBackend.MATH):
        model(*inputs)
    return counter.get_total_flops()


def numel(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize(
    ("make", "shape"),
    [
        (lambda: build("mobilenet_v1", resolution=96).eval(), (3, 96, 96)),
        (lambda: build("mobilenet_v1", width_multiplier=0.25, conv_kind="standard").eval(), (3, 64, 64)),
        (lambda: build("fashion_separable_cnn").eval(), (1, 28, 28)),
        (lambda: ConvBNNet().eval(), (3, 17, 13)),
        (lambda: FunctionalNet(), (3, 16, 16)),
        (lambda: SharedNet(), (7, 6)),
    ],
    ids=["mobilenet_v1", "mobilenet_v1_standard_a025", "fashion", "convbn", "functional", "shared"],
)
@pytest.mark.parametrize("batch", [1, 3])
def test_params_numel_and_macs_flopcounter(make, shape, batch) -> None:
    torch.manual_seed(0)
    model = make()
    report = profile(model, shape, batch=batch)
    totals = report.totals
    assert report.ran_on == "meta" and report.status == "complete"
    assert totals["params"] == numel(model)
    assert totals["trainable_params"] == numel(model)
    assert 2 * totals["macs"] == flop_counter(model, torch.randn(batch, *shape))


def test_worked_examples_spec4() -> None:
    # 1×34×13, k10×4, s3×2, 128 filters → 128×9×5: params 5,248, mults 230,400, adds 224,640 + 5,760
    t = profile(nn.Conv2d(1, 128, (10, 4), stride=(3, 2)), (1, 34, 13)).totals
    assert (t["params"], t["mults"], t["acc_adds"], t["bias_adds"]) == (5248, 230400, 224640, 5760)
    assert t["adds"] == 224640 + 5760 and t["flops"] == 230400 + 224640 + 5760
    # depthwise 128×9×5, k3: params 1,280, mults 24,192, acc 21,504, bias 2,688
    t = profile(nn.Conv2d(128, 128, 3, groups=128), (128, 9, 5)).totals
    assert (t["params"], t["mults"], t["acc_adds"], t["bias_adds"]) == (1280, 24192, 21504, 2688)
    # 4×5×5 → 10, k3, dilation 2: 10×1×1, 370 params, 360 mults, 350 acc, 10 bias
    t = profile(nn.Conv2d(4, 10, 3, dilation=2), (4, 5, 5)).totals
    assert (t["params"], t["mults"], t["acc_adds"], t["bias_adds"]) == (370, 360, 350, 10)
    # depthwise-separable 4×5×5 → 10 (both biases): 40 + 50 = 90 params, 324 + 360 = 684 mults
    sep = nn.Sequential(nn.Conv2d(4, 4, 3, groups=4), nn.Conv2d(4, 10, 1))
    rows = profile(sep, (4, 5, 5)).rows()
    assert [(r["params"], r["mults"]) for r in rows] == [(40, 324), (50, 360)]


def brute_force_conv(x_shape, w_shape, stride, padding, dilation, groups, bias):
    """Loop over every output element and every tap: (mults, taps inside the input, acc adds, bias adds)."""
    n, _cin, h, w = x_shape
    cout, cpg, kh, kw = w_shape
    ho = (h + 2 * padding - dilation * (kh - 1) - 1) // stride + 1
    wo = (w + 2 * padding - dilation * (kw - 1) - 1) // stride + 1
    mults = inside = acc = bias_adds = 0
    for _b, _co, i, j in itertools.product(range(n), range(cout), range(ho), range(wo)):
        products = 0
        for _ci, a, b in itertools.product(range(cpg), range(kh), range(kw)):
            products += 1
            r, c = i * stride - padding + a * dilation, j * stride - padding + b * dilation
            inside += 0 <= r < h and 0 <= c < w
        mults += products
        acc += products - 1
        bias_adds += 1 if bias else 0
    return mults, inside, acc, bias_adds


@pytest.mark.parametrize(
    ("cin", "cout", "k", "stride", "padding", "dilation", "groups", "bias"),
    [(3, 4, 3, 2, 1, 1, 1, True), (4, 4, 3, 1, 2, 2, 4, False), (4, 6, 2, 1, 0, 1, 2, True)],
)
def test_conv_brute_force(cin, cout, k, stride, padding, dilation, groups, bias) -> None:
    conv = nn.Conv2d(cin, cout, k, stride, padding, dilation, groups, bias)
    t = profile(conv, (cin, 7, 6), batch=2).totals
    mults, inside, acc, bias_adds = brute_force_conv(
        (2, cin, 7, 6), tuple(conv.weight.shape), stride, padding, dilation, groups, bias
    )
    assert (t["mults"], t["mults_excluding_padding"], t["acc_adds"], t["bias_adds"]) == (
        mults,
        inside,
        acc,
        bias_adds,
    )


def test_linear_and_matmul_brute_force() -> None:
    class M(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(5, 3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.fc(x)  # (2, 4, 3): 2·4 rows × 5·3
            return torch.bmm(y, y.transpose(1, 2))  # (2, 4, 4): 2·4·4 outputs × 3 products

    r = profile(M(), (4, 5), batch=2)
    rows = {row["name"]: row for row in r.rows()}
    assert rows["fc"]["macs"] == 2 * 4 * 5 * 3 and rows["fc"]["bias_adds"] == 2 * 4 * 3
    assert rows["fc"]["acc_adds"] == 2 * 4 * 3 * (5 - 1)
    assert rows["(top level)"]["macs"] == 2 * 4 * 4 * 3


def test_shared_parameter_and_reused_module() -> None:
    model = SharedNet()
    r = profile(model, (6,), batch=2)
    rows = {row["name"]: row for row in r.rows()}
    # the reused block runs three times: each call counts
    assert rows["block.0"]["calls"] == 3
    assert rows["block.0"]["macs"] == 3 * 2 * 12 * 12
    # the shared weight counts once (owned by block.0), `tied` owns only its bias
    assert rows["tied"]["params"] == 12 and rows["tied"]["shared_params"] == 144
    assert r.totals["params"] == numel(model) == 6 * 12 + (144 + 12) + 12 + 72


def test_frozen_layers() -> None:
    model = ConvBNNet(freeze_stem=True).eval()
    t = profile(model, (3, 16, 16)).totals
    frozen = sum(p.numel() for p in model.parameters() if not p.requires_grad)
    assert frozen == 8 * 3 * 9 + 8 + 16
    assert t["non_trainable_params"] == frozen
    assert t["trainable_params"] == numel(model) - frozen
    k = profile(model, (3, 16, 16), keras=True).totals
    bn_stats = 2 * 8 + 2 * 8
    assert k["non_trainable_params"] == frozen + bn_stats
    assert k["params"] == numel(model) + bn_stats


def test_fashion_keras_totals_spec4() -> None:
    model = build("fashion_separable_cnn")
    r = profile(model, (1, 28, 28))
    assert r.totals["params"] == 184234
    counted = [row["params"] for row in r.rows() if row["params"]]
    assert counted == [320, 1344, 2400, 4736, 8896, 17664, 147584, 1290]


def test_keras_spec4_layer_params() -> None:
    from convwise.layers import DepthwiseConv2d, SeparableConv2d, StandardConv2d

    shape = (10, 224, 224)
    assert profile(StandardConv2d(10, 32, 3, padding="same"), shape).totals["params"] == 2912
    assert profile(DepthwiseConv2d(10, 3, padding="same"), shape).totals["params"] == 100
    sep = SeparableConv2d(10, 32, 3, padding="same", bias_policy="keras")
    assert profile(sep, shape).totals["params"] == 442


def test_attention_and_einsum_functional() -> None:
    model = FunctionalNet()
    r = profile(model, (3, 16, 16), batch=2)
    assert r.status == "complete"
    # everything is functional: all counts land on the top-level row
    assert [row["name"] for row in r.rows()] == ["(top level)"]
    # hand count of the MAC-type ops
    n = 2
    conv1 = n * 8 * 8 * 8 * 27
    dw = n * 8 * 8 * 8 * 9
    seq = 16  # 4×4 after the pool
    proj = n * seq * 8 * 16
    attn = n * 2 * seq * seq * (8 + 8)
    einsum = n * 2 * seq * seq * 8
    sv = n * 2 * seq * seq * 8
    fc = n * 16 * 5
    assert r.totals["macs"] == conv1 + dw + proj + attn + einsum + sv + fc


def test_real_tensor_run_matches_meta() -> None:
    model = ConvBNNet().eval()
    meta = profile(model, (3, 20, 20), batch=2).totals
    real = profile(model, (3, 20, 20), batch=2, device="real").totals
    assert meta == real


def test_fused_attention_kernel_on_real_tensors_matches_meta() -> None:
    # on real CPU tensors SDPA is one fused op (its own formula); on meta it is bmm + softmax
    model = FunctionalNet()
    meta = profile(model, (3, 16, 16), batch=2).totals
    real = profile(model, (3, 16, 16), batch=2, device="real").totals
    assert (real["macs"], real["flops"]) == (meta["macs"], meta["flops"])


def test_lstm_brute_force() -> None:
    # FlopCounterMode sees no MACs in nn.LSTM on CPU; each step and sample costs 4·(in + hidden)·hidden
    lstm = nn.LSTM(8, 16, batch_first=True)
    r = profile(lstm, (5, 8), batch=2)
    assert r.status == "complete"
    assert r.totals["macs"] == 2 * 5 * 4 * (8 + 16) * 16


def test_transformer_layer_in_eval_counts_like_training() -> None:
    # in eval mode PyTorch runs a fused CPU kernel that FlopCounterMode does not see; the meta run
    # takes the regular path, so eval must count the same MACs as training mode (dropout 0)
    layer = nn.TransformerEncoderLayer(32, 4, 64, dropout=0.0, batch_first=True)
    reference = flop_counter(layer.train(), torch.randn(2, 10, 32))
    assert reference > 0
    assert 2 * profile(layer.eval(), (10, 32), batch=2).totals["macs"] == reference


def test_tf_same_padding_of_convwise_layers_brute_force() -> None:
    # TensorFlow 'same' at stride 2 pads (0, 1) per axis; convwise pads before the conv, and the report
    # must still know which taps read padding
    from convwise.layers import SeparableConv2d

    layer = SeparableConv2d(3, 5, 3, stride=2, padding="same", bias_policy="keras")
    r = profile(layer, (3, 8, 7), batch=2)
    ho, wo = 4, 4
    pad_top, pad_left = 0, 0  # total 1 along each axis, the odd pixel after
    inside = 0
    for _n, _c, i, j, a, b in itertools.product(range(2), range(3), range(ho), range(wo), range(3), range(3)):
        row, col = i * 2 - pad_top + a, j * 2 - pad_left + b
        inside += 0 <= row < 8 and 0 <= col < 7
    depthwise_mults = 2 * 3 * ho * wo * 9
    pointwise_mults = 2 * 5 * ho * wo * 3
    assert r.totals["mults"] == depthwise_mults + pointwise_mults
    assert r.totals["mults_excluding_padding"] == inside + pointwise_mults
    assert r.totals["bias_adds"] == 2 * 5 * ho * wo
