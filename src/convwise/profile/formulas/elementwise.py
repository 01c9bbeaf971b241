"""Formulas of the non-MAC ops: element-wise, normalisation, dropout, pooling, reductions, data movement.

Conventions, for the whole batch: one op per output element for activations and element-wise
arithmetic (a transcendental counts as one); two per element for a normalisation (the affine-folded
form x·a + b; computing batch statistics is not counted), whichever kernel runs it; one per element
for dropout while training (none in eval); ``(k − 1)`` comparisons per output element for max pooling;
``k`` per output element for average pooling (k − 1 additions + one division); one per input element for
a mean / adaptive average pool; ``numel(input) − numel(output)`` for other reductions; interpolation:
the products and additions of its weights per output element. Data movement costs 0.
"""

from __future__ import annotations

import math
from typing import Any

from convwise.profile.formulas.table import MOVEMENT, Formula, OpCost, bind, numel
from convwise.profile.tensors import first_tensor


def per_output_element(factor: int = 1) -> Formula:
    """A formula counting `factor` other ops per element of the (first) output.

    Arithmetic whose output is an integer scalar (a step counter such as BatchNorm's
    `num_batches_tracked += 1`) is bookkeeping, not work on the data: it counts 0.
    """

    def formula(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> OpCost:
        t = first_tensor(out)
        if t is None or (t.dim() == 0 and not t.is_floating_point() and not t.is_complex()):
            return OpCost(category="other")
        return OpCost(other_ops=factor * numel(t), category="other")

    formula.__doc__ = f"{factor} other op(s) per output element."
    return formula


def per_input_element(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> OpCost:
    """One other op per input element (a mean: additions plus one division per output)."""
    return OpCost(other_ops=numel(args[0]), category="other")


def reduction_formula(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> OpCost:
    """numel(input) − numel(output) operations (sum, max, adaptive max pool)."""
    t = first_tensor(out)
    return OpCost(other_ops=max(numel(args[0]) - (numel(t) if t is not None else 1), 0), category="other")


def _window(args: tuple[Any, ...], dims: int) -> int:
    k = args[1]
    k = [int(v) for v in (k if isinstance(k, (list, tuple)) else [k])]
    if len(k) == 1:
        k = k * dims
    return math.prod(k)


def max_pool_formula(dims: int) -> Formula:
    """(k − 1) comparisons per output element of a `dims`-D max pool."""

    def formula(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> OpCost:
        return OpCost(other_ops=(_window(args, dims) - 1) * numel(first_tensor(out)), category="other")

    formula.__doc__ = f"{dims}-D max pool: (k − 1) comparisons per output element."
    return formula


def avg_pool_formula(dims: int) -> Formula:
    """k operations (k − 1 additions + 1 division) per output element of a `dims`-D average pool."""

    def formula(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> OpCost:
        return OpCost(other_ops=_window(args, dims) * numel(first_tensor(out)), category="other")

    formula.__doc__ = f"{dims}-D average pool: k operations per output element."
    return formula


def movement_formula(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> OpCost:
    """Data movement or allocation: no arithmetic."""
    return MOVEMENT


def norm_formula(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> OpCost:
    """A normalisation call (batch / layer / group / instance / RMS norm): 2 ops per output element."""
    t = first_tensor(out)
    return OpCost(other_ops=2 * numel(t) if t is not None else 0, category="other")


_DROPOUT_ARGS = ("input", "p", "training")


def dropout_formula(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> OpCost:
    """Dropout: one op per element while training with p > 0 (the masked scaling), none otherwise."""
    a = bind(_DROPOUT_ARGS, {"p": 0.5, "training": True}, args, kwargs)
    t = first_tensor(out)
    if t is None or not a["training"] or float(a["p"]) == 0.0:
        return OpCost(category="other")
    return OpCost(other_ops=numel(t), category="other")


def vector_norm_formula(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> OpCost:
    """A vector norm (‖x‖_p over some axes): 2 ops per input element (|x|^p and the accumulation)."""
    return OpCost(other_ops=2 * numel(args[0]), category="other")


def weight_norm_formula(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> OpCost:
    """aten._weight_norm_interface(v, g, dim): w = g·v/‖v‖ — the norms (2 per element), then 1 per element."""
    return OpCost(other_ops=3 * numel(args[0]), category="other")


def accumulate_formula(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> OpCost:
    """index_add / scatter_add / … (self, dim, index, source): one op per source element."""
    source = args[3] if len(args) > 3 else kwargs.get("source", kwargs.get("src"))
    return OpCost(other_ops=numel(source) if source is not None else 0, category="other")


def embedding_bag_formula(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> OpCost:
    """aten._embedding_bag(weight, indices, offsets, scale_grad, mode, sparse, per_sample_weights, …).

    One op per gathered element (each looked-up row added into, or compared with, its bag), one more
    per output element for a mean (the division), one per gathered element for per-sample weights.
    """
    weight, indices = args[0], args[1]
    mode = int(args[4]) if len(args) > 4 else int(kwargs.get("mode", 0))
    weights = args[6] if len(args) > 6 else kwargs.get("per_sample_weights")
    gathered = numel(indices) * int(weight.shape[-1])
    ops = gathered + (numel(first_tensor(out)) if mode == 1 else 0)
    if weights is not None:
        ops += gathered
    return OpCost(other_ops=ops, category="other")
