"""Profile any PyTorch model: exact per-module parameters and op costs from one forward on the meta device.

>>> import torch
>>> from convwise.profile import profile
>>> report = profile(torch.nn.Conv2d(4, 10, 3), (4, 5, 5))
>>> report.totals["params"], report.totals["macs"]
(370, 3240)
"""

from convwise.profile.engine import count_params, profile, unwrap
from convwise.profile.formulas import (
    DEFAULT_FORMULAS,
    Formula,
    FormulaTable,
    ModuleFormula,
    OpCost,
    numel,
    op_key,
    register_formula,
    register_function_formula,
    register_module_formula,
)
from convwise.profile.inputs import TensorSpec
from convwise.profile.report import COLUMNS, DEFAULT_COLUMNS, SCHEMA_VERSION, Node, Report, parse_columns
from convwise.profile.schema import load_schema, schema_path

__all__ = [
    "COLUMNS",
    "DEFAULT_COLUMNS",
    "DEFAULT_FORMULAS",
    "SCHEMA_VERSION",
    "Formula",
    "FormulaTable",
    "ModuleFormula",
    "Node",
    "OpCost",
    "Report",
    "TensorSpec",
    "count_params",
    "load_schema",
    "numel",
    "op_key",
    "parse_columns",
    "profile",
    "register_formula",
    "register_function_formula",
    "register_module_formula",
    "schema_path",
    "unwrap",
]
