"""`convwise.core.linear_cost` against a brute-force count of y = x·Wᵀ + b on small sizes."""

from __future__ import annotations

import itertools

import pytest

from convwise.core import ConfigError, linear_cost, linear_counts


def brute_force(in_features: int, out_features: int, rows: int, bias: bool) -> tuple[int, int, int]:
    """Evaluate every output with explicit loops, counting (mults, accumulation adds, bias adds)."""
    mults = acc = bias_adds = 0
    for _row, _o in itertools.product(range(rows), range(out_features)):
        total = None
        for _i in range(in_features):
            mults += 1
            if total is None:
                total = 1
            else:
                acc += 1
        if bias:
            bias_adds += 1
    return mults, acc, bias_adds


@pytest.mark.parametrize(
    ("i", "o", "rows", "bias"),
    [(1, 1, 1, True), (4, 3, 1, True), (4, 3, 5, False), (7, 2, 3, True), (1, 9, 2, False), (5, 5, 0, True)],
)
def test_counts_equal_brute_force(i: int, o: int, rows: int, bias: bool) -> None:
    cost = linear_cost(i, o, rows=rows, bias=bias)
    c = cost.counts
    assert (c.mults, c.acc_adds, c.bias_adds) == brute_force(i, o, rows, bias)
    assert c.params == i * o + (o if bias else 0)  # weight matrix o×i, one bias per output
    assert c.flops == c.mults + c.acc_adds + c.bias_adds
    assert linear_counts(i, o, rows, bias) == c


def test_bytes_and_explanation() -> None:
    cost = linear_cost(128, 10, rows=2, dtype="float16")
    assert (cost.weight_bytes, cost.input_bytes, cost.output_bytes) == (1290 * 2, 2 * 128 * 2, 2 * 10 * 2)
    assert cost.bytes_moved == 2580 + 512 + 40
    text = cost.explain()
    assert "multiplications = rows·in·out = 2·128·10 = 2,560" in text
    assert "bias additions = rows·out = 2·10 = 20" in text
    d = cost.to_dict(explain=True)
    assert d["macs"] == 2560 and d["flops"] == 2560 + 2540 + 20 and d["explanation"]


@pytest.mark.parametrize(("name", "kwargs"), [("in_features", {"in_features": -1}), ("rows", {"rows": 1.5})])
def test_bad_sizes_name_the_argument(name: str, kwargs: dict) -> None:
    args = {"in_features": 3, "out_features": 2, **kwargs}
    with pytest.raises(ConfigError, match=f"`{name}` must be a non-negative integer"):
        linear_cost(args.pop("in_features"), args.pop("out_features"), **args)
