"""The formula table: conv 1-D/3-D/transposed, user formulas for custom ops and modules."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from convwise.core import ConfigError
from convwise.profile import DEFAULT_FORMULAS, FormulaTable, OpCost, numel, op_key, profile


def flop_counter(model: nn.Module, x: torch.Tensor) -> int:
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(x)
    return counter.get_total_flops()


@pytest.mark.parametrize(
    ("model", "shape"),
    [
        (nn.Conv1d(3, 8, 5, stride=2, padding=2, groups=1), (3, 31)),
        (nn.Conv3d(4, 6, (3, 2, 3), stride=(1, 2, 1), padding=1, groups=2), (4, 5, 9, 7)),
        (nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2), (4, 5, 6)),
        (nn.ConvTranspose1d(3, 5, 4, stride=3), (3, 7)),
    ],
    ids=["conv1d", "conv3d", "convtranspose2d", "convtranspose1d"],
)
def test_other_convolutions_vs_flop_counter(model: nn.Module, shape) -> None:
    r = profile(model, shape, batch=2)
    assert r.status == "complete"
    assert 2 * r.totals["macs"] == flop_counter(model, torch.randn(2, *shape))
    assert r.totals["params"] == sum(p.numel() for p in model.parameters())


def test_transposed_conv_additions_brute_force() -> None:
    # stride 3 > kernel 2: some output positions receive no product at all
    conv = nn.ConvTranspose1d(2, 3, 2, stride=3, padding=1, bias=True)
    n, cin, length = 1, 2, 5
    out_len = (length - 1) * 3 - 2 + 2
    r = profile(conv, (cin, length), batch=n).totals
    products = [[0] * out_len for _ in range(3)]
    for co, _ci, i, t in itertools.product(range(3), range(cin), range(length), range(2)):
        o = i * 3 - 1 + t
        if 0 <= o < out_len:
            products[co][o] += 1
    acc = sum(p - 1 for row in products for p in row if p)
    assert r["mults"] == n * cin * length * 3 * 2
    assert r["mults_excluding_padding"] == sum(map(sum, products))
    assert r["acc_adds"] == acc
    assert r["bias_adds"] == 3 * out_len


def test_custom_op_formula() -> None:
    @torch.library.custom_op("convwise_test::scale_rows", mutates_args=())
    def scale_rows(x: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        return x * s[:, None]

    @scale_rows.register_fake
    def _(x: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        return torch.empty_like(x)

    class M(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.s = nn.Parameter(torch.ones(4))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return scale_rows(x, self.s)

    plain = profile(M(), inputs=torch.zeros(4, 5))
    assert plain.status == "partial"
    assert plain.totals["uncounted_ops"] == {"convwise_test.scale_rows": 1}

    def formula(args, kwargs, out) -> OpCost:
        return OpCost(other_ops=numel(out), category="other")

    counted = profile(M(), inputs=torch.zeros(4, 5), formulas={"convwise_test::scale_rows": formula})
    assert counted.status == "complete" and counted.totals["other_ops"] == 20
    assert "convwise_test.scale_rows" not in DEFAULT_FORMULAS.ops  # the default table is untouched


def test_module_formula_replaces_inner_ops() -> None:
    class Blackbox(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(2, 2, 3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.conv(x).relu()

    table = DEFAULT_FORMULAS.copy()
    table.register_module(Blackbox, lambda module, args, out: OpCost(mults=7, acc_adds=3))
    model = nn.Sequential(Blackbox(), nn.Flatten(), nn.Linear(2 * 4 * 4, 1))
    r = profile(model, (2, 6, 6), formulas=table)
    assert r.totals["macs"] == 7 + 32 and r.totals["other_ops"] == 0
    row = next(x for x in r.rows(1) if x["name"] == "0")
    assert (row["macs"], row["acc_adds"]) == (7, 3)


def test_formula_that_fails_is_reported() -> None:
    table = DEFAULT_FORMULAS.copy()
    table.register("aten.relu", lambda args, kwargs, out: 1 / 0)
    r = profile(nn.ReLU(), (3,), formulas=table)
    assert r.status == "partial"
    assert r.totals["uncounted_ops"] == {"aten.relu (formula failed: ZeroDivisionError)": 1}
    table.register_function(torch.nn.functional.linear, lambda args, kwargs, out: 1 / 0)
    r = profile(nn.Linear(3, 3), (3,), formulas=table)
    assert r.totals["uncounted_ops"] == {"F.linear (formula failed: ZeroDivisionError)": 1}


def test_op_key_forms() -> None:
    assert op_key("aten::convolution") == "aten.convolution"
    assert op_key("aten.convolution.default") == "aten.convolution"
    assert op_key(torch.ops.aten.convolution.default) == "aten.convolution"
    assert op_key(torch.ops.aten.convolution) == "aten.convolution"
    with pytest.raises(ConfigError, match=r"An op name must look like 'namespace\.name'"):
        op_key("convolution")
    with pytest.raises(ConfigError, match=r"`formula` must be callable"):
        FormulaTable().register("aten.x", 3)  # type: ignore[arg-type]


def test_interpolation_is_counted_as_other_ops() -> None:
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Upsample(scale_factor=2, mode="bilinear"))
    r = profile(model, (3, 9, 9), batch=2)
    up = r.rows()[1]
    assert up["status"] == "complete"
    assert up["output_shape"] == [2, 4, 14, 14]
    assert up["other_ops"] == 7 * 2 * 4 * 14 * 14 and up["macs"] == 0


def test_bilinear_index_add_and_random_numbers() -> None:
    # y_k = x1ᵀ·(W_k·x2) + b_k per row: W_k·x2 (in1·in2 products), then the dot product with x1 (in1)
    r = profile(nn.Bilinear(4, 3, 2), [(4,), (3,)], batch=5)
    t = r.totals
    assert r.status == "complete"
    assert t["mults"] == 5 * 2 * (4 * 3 + 4)
    assert (t["acc_adds"], t["bias_adds"]) == (5 * 2 * (4 * 2 + 3), 5 * 2)

    class Scatter(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            idx = torch.tensor([0, 0, 1])
            noise = torch.randn_like(x)  # one op per element, like bernoulli
            return torch.zeros(x.shape[0], 2, x.shape[2]).index_add_(1, idx, x + noise)

    s = profile(Scatter(), (3, 4), batch=2, device="real")
    assert s.status == "complete" and s.totals["other_ops"] == 24 + 24 + 24  # randn_like, add, index_add_
