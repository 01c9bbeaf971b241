"""Formulas of matrix products: ``mm``/``addmm``/``bmm``/``baddbmm``/``mv``/``dot``, F.linear, attention.

A product (n×k)·(k×m) is a linear layer k → m on n rows (`convwise.core.linear_counts`): ``n·k·m``
multiplications, ``n·m·(k − 1)`` accumulation additions, ``n·m`` bias additions when a bias is added.
``F.linear`` is costed from its call, so its bias additions are counted whether PyTorch runs it as one
``addmm`` or as ``matmul`` + ``add`` (a non-contiguous input). Attention (Q·Kᵀ, then softmax·V) has
``B·L·S·(E + Ev)`` multiplications; its scaling and softmax are other ops (``B·L·S`` each), and so are a
mask's addition and dropout's scaling while training (``B·L·S`` each when present).
"""

from __future__ import annotations

import math
from typing import Any

import torch

from convwise.core import linear_counts
from convwise.profile.formulas.table import OpCost, bind, numel, shape_of


def _linear(in_features: int, out_features: int, rows: int, bias: bool) -> OpCost:
    c = linear_counts(in_features, out_features, rows, bias)
    return OpCost(c.mults, c.acc_adds, c.bias_adds)


def _mm(n: int, k: int, m: int, batch: int = 1, bias: bool = False) -> OpCost:
    """(n×k)·(k×m) products, `batch` times: a linear layer k → m on batch·n rows (`convwise.core`)."""
    return _linear(k, m, batch * n, bias)


def mm_formula(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> OpCost:
    """mm(a (n×k), b (k×m)): n·k·m multiplications, n·m·(k − 1) additions."""
    (n, k), (_, m) = shape_of(args[0]), shape_of(args[1])
    return _mm(n, k, m)


def addmm_formula(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> OpCost:
    """addmm(bias, a (n×k), b (k×m)) — a Linear layer: n·k·m multiplications, plus n·m bias additions."""
    (n, k), (_, m) = shape_of(args[1]), shape_of(args[2])
    return _mm(n, k, m, bias=True)


def bmm_formula(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> OpCost:
    """bmm(a (B×n×k), b (B×k×m)): B·n·k·m multiplications."""
    (bt, n, k), (_, _, m) = shape_of(args[0]), shape_of(args[1])
    return _mm(n, k, m, bt)


def baddbmm_formula(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> OpCost:
    """baddbmm(bias, a (B×n×k), b (B×k×m)): B·n·k·m multiplications plus B·n·m bias additions."""
    (bt, n, k), (_, _, m) = shape_of(args[1]), shape_of(args[2])
    return _mm(n, k, m, bt, bias=True)


def mv_formula(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> OpCost:
    """mv(a (n×k), v (k)): n·k multiplications."""
    n, k = shape_of(args[0])
    return _mm(n, k, 1)


def dot_formula(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> OpCost:
    """dot(a (k), b (k)): k multiplications, k − 1 additions."""
    (k,) = shape_of(args[0])
    return _mm(1, k, 1)


def linear_call_formula(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> OpCost:
    """F.linear(input (…, in), weight (out, in), bias (out) or None): `convwise.core.linear_counts`."""
    a = bind(("input", "weight", "bias"), {"bias": None}, args, kwargs)
    x, w = a["input"], a["weight"]
    in_features = int(w.shape[-1])
    out_features = int(w.shape[0]) if w.dim() == 2 else 1
    rows = numel(x) // in_features if in_features else 0
    return _linear(in_features, out_features, rows, a["bias"] is not None)


def bilinear_call_formula(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> OpCost:
    """F.bilinear(x1 (…, in1), x2 (…, in2), weight (out, in1, in2), bias): y_k = x1ᵀ·(W_k·x2) + b_k.

    Per row and output: W_k·x2 is a linear layer in2 → in1, then a dot product with x1 (in1 products,
    in1 − 1 additions), then the bias.
    """
    a = bind(("input1", "input2", "weight", "bias"), {"bias": None}, args, kwargs)
    o, in1, in2 = shape_of(a["weight"])
    rows = numel(a["input1"]) // in1 if in1 else 0
    inner = _linear(in2, in1, rows * o, False)
    dot = _linear(in1, 1, rows * o, a["bias"] is not None)
    return inner + dot


def attention_cost(bt: int, lq: int, s: int, e: int, ev: int, *, masked: bool, dropout: bool) -> OpCost:
    """Q·Kᵀ and softmax·V: `bt` heads (× batch) of `lq` queries, `s` keys, widths `e` (Q, K), `ev` (V)."""
    mults = bt * lq * s * (e + ev)
    acc = bt * lq * s * (e - 1) + bt * lq * ev * (s - 1)
    return OpCost(mults, acc, 0, other_ops=bt * lq * s * (2 + int(masked) + int(dropout)))


def sdpa_formula(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> OpCost:
    """Fused attention kernels (q: …×L×E, k: …×S×E, v: …×S×Ev, then a mask / bias tensor if any)."""
    q, k, v = shape_of(args[0]), shape_of(args[1]), shape_of(args[2])
    masked = any(isinstance(t, torch.Tensor) for t in args[3:]) or kwargs.get("attn_mask") is not None
    return attention_cost(math.prod(q[:-2]), q[-2], k[-2], q[-1], v[-1], masked=masked, dropout=False)


_SDPA_ARGS = ("query", "key", "value", "attn_mask", "dropout_p", "is_causal", "scale", "enable_gqa")


def sdpa_call_formula(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> OpCost:
    """F.scaled_dot_product_attention(query, key, value, attn_mask, dropout_p, is_causal, scale, …)."""
    a = bind(_SDPA_ARGS, {"attn_mask": None, "dropout_p": 0.0, "is_causal": False}, args, kwargs)
    q, k, v = shape_of(a["query"]), shape_of(a["key"]), shape_of(a["value"])
    masked = a["attn_mask"] is not None or bool(a["is_causal"])
    return attention_cost(
        math.prod(q[:-2]), q[-2], k[-2], q[-1], v[-1], masked=masked, dropout=float(a["dropout_p"]) > 0
    )


_MHA_ARGS = (
    "query", "key", "value", "embed_dim_to_check", "num_heads", "in_proj_weight", "in_proj_bias", "bias_k",
    "bias_v", "add_zero_attn", "dropout_p", "out_proj_weight", "out_proj_bias", "training",
    "key_padding_mask", "need_weights", "attn_mask", "use_separate_proj_weight", "q_proj_weight",
    "k_proj_weight", "v_proj_weight", "static_k", "static_v", "average_attn_weights", "is_causal",
)  # fmt: skip
_MHA_DEFAULTS: dict[str, Any] = {
    "training": True, "key_padding_mask": None, "need_weights": True, "attn_mask": None,
    "use_separate_proj_weight": False, "q_proj_weight": None, "k_proj_weight": None, "v_proj_weight": None,
    "static_k": None, "static_v": None, "average_attn_weights": True, "is_causal": False,
}  # fmt: skip


def mha_call_formula(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> OpCost:
    """F.multi_head_attention_forward (`nn.MultiheadAttention`): in-projections, attention, out-projection.

    Queries (L, N, E), keys (S, N, kdim), values (S, N, vdim), H heads of E/H: the three in-projections
    (linear layers on L·N, S·N and S·N rows), attention over S keys (+1 with `bias_k`, +1 with
    `add_zero_attn`), the out-projection on L·N rows; with `need_weights` and `average_attn_weights`,
    averaging the weights over the heads (one op per weight).
    """
    a = bind(_MHA_ARGS, _MHA_DEFAULTS, args, kwargs)
    q, k, v = shape_of(a["query"]), shape_of(a["key"]), shape_of(a["value"])
    batched = len(q) == 3
    n = q[1] if batched else 1
    lq, s = q[0], k[0]
    e = int(a["embed_dim_to_check"])
    heads = int(a["num_heads"])
    hd = e // heads
    kdim, vdim = k[-1], v[-1]
    bias = a["in_proj_bias"] is not None
    cost = _linear(e, e, lq * n, bias) + _linear(kdim, e, s * n, bias) + _linear(vdim, e, s * n, bias)
    if a["static_k"] is not None:
        s = int(a["static_k"].shape[1])
    elif a["bias_k"] is not None:
        s += 1
    if a["add_zero_attn"]:
        s += 1
    masked = a["attn_mask"] is not None or a["key_padding_mask"] is not None or bool(a["is_causal"])
    dropout = bool(a["training"]) and float(a["dropout_p"]) > 0
    cost = cost + attention_cost(n * heads, lq, s, hd, hd, masked=masked, dropout=dropout)
    cost = cost + _linear(e, int(a["out_proj_weight"].shape[0]), lq * n, a["out_proj_bias"] is not None)
    if a["need_weights"] and a["average_attn_weights"]:
        cost = cost + OpCost(other_ops=n * heads * lq * s)
    return cost
