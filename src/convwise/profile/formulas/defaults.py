"""The default formula table (`DEFAULT_FORMULAS`) and the functions that register into it."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from convwise.profile import categories as cat
from convwise.profile.formulas.conv import (
    col2im_formula,
    conv_call_formula,
    conv_formula,
    conv_transpose_call_formula,
    spec_conv_formula,
)
from convwise.profile.formulas.elementwise import (
    accumulate_formula,
    avg_pool_formula,
    dropout_formula,
    embedding_bag_formula,
    max_pool_formula,
    movement_formula,
    norm_formula,
    per_input_element,
    per_output_element,
    reduction_formula,
    vector_norm_formula,
    weight_norm_formula,
)
from convwise.profile.formulas.matmul import (
    addmm_formula,
    baddbmm_formula,
    bilinear_call_formula,
    bmm_formula,
    dot_formula,
    linear_call_formula,
    mha_call_formula,
    mm_formula,
    mv_formula,
    sdpa_call_formula,
    sdpa_formula,
)
from convwise.profile.formulas.rnn import cell_call_formula, rnn_call_formula
from convwise.profile.formulas.table import Formula, FormulaTable, ModuleFormula

_MAC_OPS: dict[str, Formula] = {
    "aten.convolution": conv_formula,
    "aten.mm": mm_formula,
    "aten.addmm": addmm_formula,
    "aten.bmm": bmm_formula,
    "aten.baddbmm": baddbmm_formula,
    "aten.mv": mv_formula,
    "aten.dot": dot_formula,
    "aten._scaled_dot_product_flash_attention_for_cpu": sdpa_formula,
    "aten._scaled_dot_product_flash_attention": sdpa_formula,
    "aten._scaled_dot_product_efficient_attention": sdpa_formula,
    "aten._scaled_dot_product_cudnn_attention": sdpa_formula,
    "aten._scaled_dot_product_fused_attention_overrideable": sdpa_formula,
}


def _default_ops() -> dict[str, Formula]:
    table: dict[str, Formula] = dict(_MAC_OPS)
    two = per_output_element(2)
    one = per_output_element(1)
    for name in (*cat.CHANNEL_NORMS, *cat.POSITION_NORMS):
        table[f"aten.{name}"] = two
    for name in (*cat.ACTIVATIONS, *cat.SOFTMAX, *cat.ARITHMETIC):
        table[f"aten.{name}"] = one
    for name in cat.MOVEMENT:
        table[f"aten.{name}"] = movement_formula
    for dims in (1, 2, 3):
        table[f"aten.max_pool{dims}d"] = max_pool_formula(dims)
        table[f"aten.max_pool{dims}d_with_indices"] = max_pool_formula(dims)
        table[f"aten.avg_pool{dims}d"] = avg_pool_formula(dims)
        table[f"aten.adaptive_avg_pool{dims}d"] = per_input_element
        table[f"aten._adaptive_avg_pool{dims}d"] = per_input_element
        table[f"aten.adaptive_max_pool{dims}d"] = reduction_formula
    for name, per_element in cat.INTERPOLATION.items():
        table[f"aten.{name}"] = per_output_element(per_element)
    for name in cat.REDUCTIONS:
        table[f"aten.{name}"] = per_input_element if name == "mean" else reduction_formula
    for name in cat.VECTOR_NORMS:
        table[f"aten.{name}"] = vector_norm_formula
    table["aten._weight_norm_interface"] = weight_norm_formula
    for name in cat.ACCUMULATE:
        table[f"aten.{name}"] = accumulate_formula
    table["aten.col2im"] = col2im_formula
    table["aten._embedding_bag"] = embedding_bag_formula
    table["aten._embedding_bag_forward_only"] = embedding_bag_formula
    return table


def _functions() -> dict[Any, tuple[str, Formula]]:
    vf = torch._C._VariableFunctions
    out: dict[Any, tuple[str, Formula]] = {
        F.linear: ("F.linear", linear_call_formula),
        F.bilinear: ("F.bilinear", bilinear_call_formula),
    }
    for d in (1, 2, 3):
        out[getattr(vf, f"conv{d}d")] = (f"F.conv{d}d", conv_call_formula)
        out[getattr(vf, f"conv_transpose{d}d")] = (f"F.conv_transpose{d}d", conv_transpose_call_formula)
    out[F.scaled_dot_product_attention] = ("F.scaled_dot_product_attention", sdpa_call_formula)
    out[F.multi_head_attention_forward] = ("F.multi_head_attention_forward", mha_call_formula)
    for kind, name in (("lstm", "lstm"), ("gru", "gru"), ("rnn", "rnn_tanh"), ("rnn", "rnn_relu")):
        out[getattr(vf, name)] = (f"torch.{name}", rnn_call_formula(kind))
        out[getattr(vf, f"{name}_cell")] = (f"torch.{name}_cell", cell_call_formula(kind))
    for name in ("batch_norm", "layer_norm", "group_norm", "instance_norm", "rms_norm"):
        for func, label in (
            (getattr(F, name, None), f"F.{name}"),
            (getattr(vf, name, None), f"torch.{name}"),
        ):
            if func is not None:
                out[func] = (label, norm_formula)
    for name in ("dropout", "alpha_dropout", "feature_alpha_dropout", "dropout1d", "dropout2d", "dropout3d"):
        if hasattr(F, name):
            out[getattr(F, name)] = (f"F.{name}", dropout_formula)
    for name in ("dropout", "alpha_dropout", "feature_alpha_dropout", "feature_dropout"):
        if hasattr(vf, name):
            out[getattr(vf, name)] = (f"torch.{name}", dropout_formula)
    return out


def _modules() -> dict[type, ModuleFormula]:
    from convwise.layers import SpecConv2d

    return {SpecConv2d: spec_conv_formula}


#: The table `profile` uses unless given another one.
DEFAULT_FORMULAS = FormulaTable(_default_ops(), _modules(), _functions())


def register_formula(op: Any, formula: Formula | None = None) -> Any:
    """Register an op formula in the default table; usable as a decorator.

    Example (not run)::

        @register_formula("mylib.fancy")
        def fancy(args, kwargs, out):
            return OpCost(other_ops=numel(out), category="other")
    """
    if formula is None:

        def deco(fn: Formula) -> Formula:
            DEFAULT_FORMULAS.register(op, fn)
            return fn

        return deco
    DEFAULT_FORMULAS.register(op, formula)
    return formula


def register_module_formula(module_type: type, formula: ModuleFormula | None = None) -> Any:
    """Register a module formula in the default table; usable as a decorator."""
    if formula is None:

        def deco(fn: ModuleFormula) -> ModuleFormula:
            DEFAULT_FORMULAS.register_module(module_type, fn)
            return fn

        return deco
    DEFAULT_FORMULAS.register_module(module_type, formula)
    return formula


def register_function_formula(func: Any, formula: Formula | None = None, name: str | None = None) -> Any:
    """Register a formula for a torch function (e.g. `F.bilinear`) in the default table; a decorator too."""
    if formula is None:

        def deco(fn: Formula) -> Formula:
            DEFAULT_FORMULAS.register_function(func, fn, name)
            return fn

        return deco
    DEFAULT_FORMULAS.register_function(func, formula, name)
    return formula
