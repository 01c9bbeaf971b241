"""The fast meta shape kernels agree with PyTorch's own meta kernels (shape and dtype)."""

from __future__ import annotations

import pytest
import torch

from convwise.profile.meta_shapes import SHAPE_KERNELS, broadcast, fast_meta

aten = torch.ops.aten


def m(*shape: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return torch.empty(shape, device="meta", dtype=dtype)


CASES = [
    (
        aten.convolution.default,
        (m(2, 6, 11, 9), m(4, 3, 3, 2), None, [2, 1], [1, 0], [1, 2], False, [0, 0], 2),
    ),
    (aten.convolution.default, (m(1, 4, 5, 6), m(4, 3, 3, 3), m(6), [2, 2], [1, 1], [1, 1], True, [1, 0], 2)),
    (aten.convolution.default, (m(2, 3, 17), m(5, 3, 4), None, [3], [2], [1], False, [0], 1)),
    (aten.native_batch_norm.default, (m(2, 4, 3, 3), m(4), m(4), m(4), m(4), False, 0.1, 1e-5)),
    (aten._native_batch_norm_legit_no_training.default, (m(2, 4, 3, 3), m(4), m(4), m(4), m(4), 0.1, 1e-5)),
    (aten.max_pool2d_with_indices.default, (m(1, 3, 9, 8), [3, 3], [2, 2], [1, 1], [1, 1], True)),
    (aten.max_pool2d_with_indices.default, (m(1, 3, 7, 7), [2, 2], [2, 2])),
    (aten.avg_pool2d.default, (m(2, 3, 10, 7), [3, 2], [2, 2], [1, 0], True)),
    (aten._adaptive_avg_pool2d.default, (m(2, 8, 7, 7), [1, 1])),
    (aten.mean.dim, (m(2, 8, 7, 5), [-1, -2], True)),
    (aten.mean.dim, (m(2, 8, 7, 5), [1])),
    (aten.sum.dim_IntList, (m(2, 8, 7), [0, 2])),
    (aten.addmm.default, (m(5), m(3, 4), m(4, 5))),
    (aten.mm.default, (m(3, 4), m(4, 2))),
    (aten.bmm.default, (m(2, 3, 4), m(2, 4, 6))),
    (aten._softmax.default, (m(2, 5), -1, False)),
    (aten.constant_pad_nd.default, (m(1, 2, 5, 5), [0, 1, 2, 1])),
    (aten.relu.default, (m(2, 3),)),
    (aten.hardtanh.default, (m(2, 3), 0.0, 6.0)),
    (aten.gelu.default, (m(4),)),
    (aten.add.Tensor, (m(2, 1, 4), m(3, 1))),
    (aten.mul.Tensor, (m(2, 3), m(2, 3, dtype=torch.float64))),
    (aten.mul.Scalar, (m(2, 3), 0.5)),
    (aten.div.Tensor, (m(2, 3), m(3, dtype=torch.int64))),
]


@pytest.mark.parametrize(("op", "args"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_fast_kernel_matches_torch_meta(op, args) -> None:
    fast = fast_meta(op, args, {})
    real = op(*args)
    fast_list = list(fast) if isinstance(fast, tuple) else [fast]
    real_list = list(real) if isinstance(real, tuple) else [real]
    # the first output (the one later ops consume) must match exactly
    assert fast_list[0].shape == real_list[0].shape
    assert fast_list[0].dtype == real_list[0].dtype
    assert len(fast_list) == len(real_list)


def test_inplace_returns_self_and_unknown_is_none() -> None:
    x = m(2, 3)
    assert fast_meta(aten.relu_.default, (x,), {}) is x
    assert fast_meta(aten.add_.Tensor, (x, m(3)), {}) is x
    assert fast_meta(aten.cumsum.default, (x, 0), {}) is None
    assert aten.cumsum.default not in SHAPE_KERNELS


def test_broadcast_rule() -> None:
    assert broadcast((2, 1, 4), (3, 1)) == [2, 3, 4]
    assert broadcast((), (5,)) == [5]
    assert broadcast((2, 3), (4,)) is None


@pytest.mark.parametrize(
    ("op", "args", "handled"),
    [
        # integer inputs that torch promotes to float: the fast path declines, torch's meta kernel decides
        (aten.sigmoid.default, (m(3, dtype=torch.int64),), False),
        (aten.div.Scalar, (m(3, dtype=torch.int32), 2), False),
        (aten.div.Tensor, (m(2, 3, dtype=torch.int64), m(3, dtype=torch.int64)), False),
        # promotions the fast path computes itself: they must agree with torch
        (aten.add.Tensor, (m(3, dtype=torch.int32), 2.5), True),
        (aten.mul.Tensor, (m(3, dtype=torch.bool), m(3, dtype=torch.int8)), True),
    ],
)
def test_integer_promotion_matches_torch(op, args, handled) -> None:
    fast = fast_meta(op, args, {})
    real = op(*args)
    if not handled:
        assert fast is None  # never a guessed (integer) dtype
        return
    assert fast is not None and (fast.dtype, fast.shape) == (real.dtype, real.shape)
