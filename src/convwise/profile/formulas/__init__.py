"""The formula table: what one dispatched aten op, torch function call or module call costs.

Conventions (docs/cost-model.md), for the whole batch the op ran on:

- **MAC-type ops** (convolutions, linear layers and matrix products, attention, recurrent layers):
  ``mults`` (= MACs), accumulation additions and bias additions, so FLOPs = mults + adds
  (`convolution`, `matmul`, `rnn`).
- **Other ops** (normalisation, activations, pooling, reductions, element-wise arithmetic, the gates of a
  recurrence, attention's scaling and softmax) are counted in one separate number, ``other_ops``, never
  in MACs (`elementwise`).
- **Data movement** (views, copies, concatenation, padding, allocation) costs 0 by definition.
- Any other op has no formula: the engine lists it by name and marks the layer ``partial``.

Layers PyTorch may run with different kernels (``F.linear``, ``F.conv*``, attention, LSTM/GRU/RNN,
normalisations, dropout) are costed from the call itself (function formulas), so their counts do not
depend on the kernel, the device or the autograd mode. Extend the table with `register_formula` (aten
or custom ops), `register_function_formula` (a torch function) or `register_module_formula` (a whole
module type, whose inner ops are then not counted separately).
"""

from convwise.profile.formulas.conv import conv_formula, spec_conv_formula
from convwise.profile.formulas.defaults import (
    DEFAULT_FORMULAS,
    register_formula,
    register_function_formula,
    register_module_formula,
)
from convwise.profile.formulas.elementwise import (
    avg_pool_formula,
    max_pool_formula,
    movement_formula,
    per_input_element,
    per_output_element,
    reduction_formula,
)
from convwise.profile.formulas.matmul import attention_cost, sdpa_formula
from convwise.profile.formulas.table import (
    CATEGORIES,
    MOVEMENT,
    Formula,
    FormulaTable,
    ModuleFormula,
    OpCost,
    numel,
    op_key,
)

__all__ = [
    "CATEGORIES",
    "DEFAULT_FORMULAS",
    "MOVEMENT",
    "Formula",
    "FormulaTable",
    "ModuleFormula",
    "OpCost",
    "attention_cost",
    "avg_pool_formula",
    "conv_formula",
    "max_pool_formula",
    "movement_formula",
    "numel",
    "op_key",
    "per_input_element",
    "per_output_element",
    "reduction_formula",
    "register_formula",
    "register_function_formula",
    "register_module_formula",
    "sdpa_formula",
    "spec_conv_formula",
]
