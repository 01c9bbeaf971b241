"""The formula table's types: what one op, function or module call costs (`OpCost`), and the table itself.

A `FormulaTable` holds three kinds of formulas, looked up in this order while a forward runs:

- **module formulas** (by module class): cost a whole module call; the ops inside it are not counted;
- **function formulas** (by torch function, e.g. ``F.linear``, ``torch.lstm``): cost the call from its
  arguments, at the level the user wrote it, so the count does not depend on the kernel PyTorch picks
  (a fused CPU fast path, ``addmm`` or ``matmul`` + ``add``) nor on the autograd mode; the dispatched
  ops inside are not counted;
- **op formulas** (by aten op name, e.g. ``aten.convolution``): every other dispatched op.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from convwise.core import config_error

#: Categories of a formula: MAC-type arithmetic, other arithmetic, or pure data movement.
CATEGORIES: tuple[str, ...] = ("mac", "other", "movement")


@dataclass(frozen=True)
class OpCost:
    """What one op call costs, for the batch it ran on.

    Attributes:
        mults: multiplications of MAC-type arithmetic (= MACs).
        acc_adds: accumulation additions of MAC-type arithmetic.
        bias_adds: bias additions of MAC-type arithmetic.
        other_ops: operations of non-MAC ops (normalisation, activation, pooling, element-wise).
        mults_excluding_padding: multiplications that do not read a padding zero (None: same as mults).
        category: 'mac', 'other' or 'movement'.
    """

    mults: int = 0
    acc_adds: int = 0
    bias_adds: int = 0
    other_ops: int = 0
    mults_excluding_padding: int | None = None
    category: str = "mac"

    def __add__(self, other: OpCost) -> OpCost:
        mine = self.mults if self.mults_excluding_padding is None else self.mults_excluding_padding
        theirs = other.mults if other.mults_excluding_padding is None else other.mults_excluding_padding
        return OpCost(
            self.mults + other.mults,
            self.acc_adds + other.acc_adds,
            self.bias_adds + other.bias_adds,
            self.other_ops + other.other_ops,
            mine + theirs,
            self.category if self.category == other.category else "mac",
        )


#: A formula maps the op's (or function's) (args, kwargs, output) to its cost.
Formula = Callable[[tuple[Any, ...], dict[str, Any], Any], OpCost]
#: A module formula maps (module, args, output) to its cost.
ModuleFormula = Callable[[Any, tuple[Any, ...], Any], OpCost]

MOVEMENT = OpCost(category="movement")


def shape_of(t: Any) -> tuple[int, ...]:
    """The shape of a tensor as a tuple of Python ints."""
    return tuple(int(v) for v in t.shape)


def numel(t: Any) -> int:
    """Number of elements of a tensor (Python int)."""
    return math.prod(shape_of(t))


def bind(
    names: tuple[str, ...], defaults: dict[str, Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> dict[str, Any]:
    """A function's arguments by name: positional `args` over `names`, then `kwargs`, then `defaults`."""
    out = dict(defaults)
    out.update(zip(names, args, strict=False))
    out.update(kwargs)
    return out


def op_key(op: Any) -> str:
    """The table key of an op: 'namespace.name' of its overload packet (e.g. 'aten.convolution').

    Accepts a string ('aten.convolution', 'aten::convolution', 'aten.convolution.default'), an
    `OpOverload` or an `OpOverloadPacket`.

    Raises:
        ConfigError: for anything else.
    """
    if isinstance(op, str):
        text = op.strip().replace("::", ".")
        parts = text.split(".")
        if len(parts) < 2 or not all(parts):
            raise config_error("An op name must look like 'namespace.name' (e.g. 'aten.convolution').", op=op)
        return ".".join(parts[:2])
    packet = getattr(op, "overloadpacket", op)
    name = str(packet)
    if "." not in name:
        raise config_error("Expected an op name, a torch OpOverload or an OpOverloadPacket.", op=op)
    return name


def _function_name(func: Any) -> str:
    module = getattr(func, "__module__", None) or ""
    name = getattr(func, "__qualname__", None) or getattr(func, "__name__", None) or repr(func)
    if module in ("torch.nn.functional", "torch._C._nn"):
        return f"F.{name}"
    if module.startswith("torch"):
        return f"torch.{name}"
    return f"{module}.{name}" if module else name


class FormulaTable:
    """Op formulas keyed by op name, function formulas keyed by torch function, module formulas by class."""

    def __init__(
        self,
        ops: dict[str, Formula] | None = None,
        modules: dict[type, ModuleFormula] | None = None,
        functions: dict[Any, tuple[str, Formula]] | None = None,
    ) -> None:
        self.ops: dict[str, Formula] = dict(ops or {})
        self.modules: dict[type, ModuleFormula] = dict(modules or {})
        #: torch function → (name shown in the report, formula).
        self.functions: dict[Any, tuple[str, Formula]] = dict(functions or {})

    def copy(self) -> FormulaTable:
        """An independent copy (registering on it leaves this table alone)."""
        return FormulaTable(self.ops, self.modules, self.functions)

    def register(self, op: Any, formula: Formula) -> None:
        """Use `formula` for `op` (replacing any previous one)."""
        if not callable(formula):
            raise config_error(
                "`formula` must be callable (args, kwargs, output) -> OpCost.", formula=formula
            )
        self.ops[op_key(op)] = formula

    def register_function(self, func: Any, formula: Formula, name: str | None = None) -> None:
        """Cost each call of torch function `func` (e.g. `torch.nn.functional.linear`) by `formula`.

        The formula gets the call's (args, kwargs, output); the ops dispatched inside the call are not
        counted. `name` is how the report lists the call (default: e.g. 'F.linear').
        """
        if not callable(func) or not callable(formula):
            raise config_error(
                "`func` must be a torch function and `formula` a callable (args, kwargs, output) -> OpCost.",
                func=func,
            )
        self.functions[func] = (name or _function_name(func), formula)

    def register_module(self, module_type: type, formula: ModuleFormula) -> None:
        """Cost each call of a `module_type` module by `formula(module, args, output)`; inner ops skipped."""
        if not isinstance(module_type, type):
            raise config_error("`module_type` must be a class.", module_type=module_type)
        if not callable(formula):
            raise config_error(
                "`formula` must be callable (module, args, output) -> OpCost.", formula=formula
            )
        self.modules[module_type] = formula

    def lookup(self, op: Any) -> Formula | None:
        """The formula of `op`, or None when the table has none."""
        return self.ops.get(op_key(op))

    def module_formula(self, module: Any) -> ModuleFormula | None:
        """The formula for a module instance: its class's, or the nearest registered base's, or None.

        A base's formula describes the base's `forward`: a subclass that defines its own `forward` is
        not costed by it (its calls are counted op by op).
        """
        if not self.modules:
            return None
        forward = getattr(type(module), "forward", None)
        for cls in type(module).__mro__:
            if cls in self.modules:
                if cls is type(module) or getattr(cls, "forward", None) is forward:
                    return self.modules[cls]
                return None
        return None

    def merged(self, extra: dict[Any, Formula] | Iterable[tuple[Any, Formula]] | None) -> FormulaTable:
        """A copy with `extra` formulas added: op names or ops, module classes, or torch functions."""
        table = self.copy()
        items = extra.items() if isinstance(extra, dict) else (extra or ())
        for op, formula in items:
            if isinstance(op, type):
                table.register_module(op, formula)  # type: ignore[arg-type]
            elif (
                isinstance(op, str)
                or hasattr(op, "overloadpacket")
                or type(op).__name__ == "OpOverloadPacket"
            ):
                table.register(op, formula)
            elif callable(op):
                table.register_function(op, formula)
            else:
                table.register(op, formula)
        return table
