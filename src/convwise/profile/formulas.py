"""The per-op formula table: what one dispatched aten op (or one user module call) costs.

Conventions (SPEC §2), for the whole batch the op ran on:

- **MAC-type ops** (convolution, ``mm``/``addmm``/``bmm``/``baddbmm``/``mv``/``dot``, attention kernels):
  ``mults`` (= MACs), accumulation additions and bias additions, so FLOPs = mults + adds. 2-D
  convolutions are costed by `convwise.core.stage_cost` (the one source of truth); 1-D/3-D and
  transposed convolutions by the same formulas written per spatial axis.
- **Other ops** (normalisation, activations, pooling, reductions, element-wise arithmetic) are counted in
  one separate number, ``other_ops``, never in MACs: one op per output element for activations and
  element-wise arithmetic (a transcendental counts as one); 2 per element for a normalisation (the
  affine-folded form x·a + b; computing batch statistics is not counted); ``(k − 1)`` comparisons per
  output element for max pooling; ``k`` per output element for average pooling (k − 1 additions + one
  division); one per input element for a mean / adaptive average pool; interpolation: the products and
  additions of its weights per output element (linear 3, bilinear 7, bicubic 31, trilinear 15).
- **Data movement** (views, copies, concatenation, padding, allocation) costs 0 by definition.
- Any other op has no formula: the engine lists it by name and marks the layer ``partial``.

Extend the table with `register_formula` (aten or custom ops) or `register_module_formula` (a whole
module type, whose inner ops are then not counted separately).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from convwise.core import Conv2dSpec, config_error, linear_counts, parse_padding, stage_cost
from convwise.profile import categories as cat
from convwise.profile.tensors import first_tensor

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


#: A formula maps the op's (args, kwargs, output) to its cost.
Formula = Callable[[tuple[Any, ...], dict[str, Any], Any], OpCost]
#: A module formula maps (module, args, output) to its cost.
ModuleFormula = Callable[[Any, tuple[Any, ...], Any], OpCost]

MOVEMENT = OpCost(category="movement")


def _shape(t: Any) -> tuple[int, ...]:
    return tuple(int(v) for v in t.shape)


def numel(t: Any) -> int:
    """Number of elements of a tensor (Python int)."""
    return math.prod(_shape(t))


# --- MAC-type ops ---------------------------------------------------------------------------------------


def _covered_taps(size: int, out: int, kernel: int, stride: int, dilation: int, pad: int) -> tuple[int, int]:
    """Transposed conv along one axis: (input·tap pairs landing in the output, output positions reached)."""
    landing = 0
    reached: set[int] = set()
    for t in range(kernel):
        for i in range(size):
            o = i * stride - pad + t * dilation
            if 0 <= o < out:
                landing += 1
                reached.add(o)
    return landing, len(reached)


def conv_formula(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> OpCost:
    """aten.convolution(input, weight, bias, stride, padding, dilation, transposed, output_padding, groups).

    2-D: `convwise.core.stage_cost` on a `Conv2dSpec` with the explicit padding the op received.
    1-D / 3-D: ``N·Cout·ΠOut·(Cin/g)·Πk`` multiplications, the same accumulation/bias rules as 2-D.
    Transposed: every input element times every tap of its group's filters,
    ``N·Cin·ΠIn·(Cout/g)·Πk`` multiplications; additions counted exactly per output position.
    """
    x, w, b, stride, padding, dilation, transposed, _out_pad, groups = args[:9]
    xs, ws, os_ = _shape(x), _shape(w), _shape(first_tensor(out))
    if len(xs) == len(ws) - 1:  # unbatched input
        xs = (1, *xs)
        os_ = (1, *os_)
    n, cin, in_sp = xs[0], xs[1], xs[2:]
    k = ws[2:]
    out_sp = os_[2:]
    has_bias = b is not None
    if transposed:
        cout = os_[1]
        cout_g = ws[1]
        mults = n * cin * math.prod(in_sp) * cout_g * math.prod(k)
        landing, reached = 1, 1
        for size, o, kk, s, d, p in zip(in_sp, out_sp, k, stride, dilation, padding, strict=False):
            a, r = _covered_taps(size, o, kk, s, d, p)
            landing *= a
            reached *= r
        cin_g = cin // groups
        inside = n * cout * cin_g * landing
        acc = n * cout * (cin_g * landing - reached)
        bias_adds = n * cout * math.prod(out_sp) if has_bias else 0
        return OpCost(mults, acc, bias_adds, mults_excluding_padding=inside)
    cout = ws[0]
    if len(k) == 2:
        spec = Conv2dSpec(
            cin,
            cout,
            (k[0], k[1]),
            (int(stride[0]), int(stride[1])),
            parse_padding((int(padding[0]), int(padding[1]))),
            (int(dilation[0]), int(dilation[1])),
            int(groups),
            has_bias,
        )
        counts = stage_cost(spec, (in_sp[0], in_sp[1])).counts.scaled(n)
        return OpCost(
            counts.mults,
            counts.acc_adds,
            counts.bias_adds,
            mults_excluding_padding=counts.mults_excluding_padding,
        )
    taps = (cin // groups) * math.prod(k)
    positions = n * cout * math.prod(out_sp)
    return OpCost(positions * taps, positions * (taps - 1), positions if has_bias else 0)


def spec_conv_formula(module: Any, args: tuple[Any, ...], out: Any) -> OpCost:
    """A convwise `SpecConv2d` call: `convwise.core.stage_cost` of its spec on the input it received.

    Costing the module (not its inner `F.pad` + `conv2d`) keeps TensorFlow `same` padding visible, so
    `mults_excluding_padding` does not count the padded zeros as real pixels.
    """
    x = args[0]
    shape = _shape(x)
    if len(shape) == 3:
        shape = (1, *shape)
    counts = stage_cost(module.spec, (shape[2], shape[3])).counts.scaled(shape[0])
    return OpCost(
        counts.mults,
        counts.acc_adds,
        counts.bias_adds,
        mults_excluding_padding=counts.mults_excluding_padding,
    )


def _mm(n: int, k: int, m: int, batch: int = 1, bias: bool = False) -> OpCost:
    """(n×k)·(k×m) products, `batch` times: a linear layer k → m on batch·n rows (`convwise.core`)."""
    c = linear_counts(k, m, batch * n, bias)
    return OpCost(c.mults, c.acc_adds, c.bias_adds)


def mm_formula(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> OpCost:
    """mm(a (n×k), b (k×m)): n·k·m multiplications, n·m·(k − 1) additions."""
    (n, k), (_, m) = _shape(args[0]), _shape(args[1])
    return _mm(n, k, m)


def addmm_formula(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> OpCost:
    """addmm(bias, a (n×k), b (k×m)) — a Linear layer: n·k·m multiplications, plus n·m bias additions."""
    (n, k), (_, m) = _shape(args[1]), _shape(args[2])
    return _mm(n, k, m, bias=True)


def bmm_formula(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> OpCost:
    """bmm(a (B×n×k), b (B×k×m)): B·n·k·m multiplications."""
    (bt, n, k), (_, _, m) = _shape(args[0]), _shape(args[1])
    return _mm(n, k, m, bt)


def baddbmm_formula(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> OpCost:
    """baddbmm(bias, a (B×n×k), b (B×k×m)): B·n·k·m multiplications plus B·n·m bias additions."""
    (bt, n, k), (_, _, m) = _shape(args[1]), _shape(args[2])
    return _mm(n, k, m, bt, bias=True)


def mv_formula(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> OpCost:
    """mv(a (n×k), v (k)): n·k multiplications."""
    n, k = _shape(args[0])
    return _mm(n, k, 1)


def dot_formula(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> OpCost:
    """dot(a (k), b (k)): k multiplications, k − 1 additions."""
    (k,) = _shape(args[0])
    return _mm(1, k, 1)


def sdpa_formula(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> OpCost:
    """Fused attention kernels (q: …×L×E, k: …×S×E, v: …×S×Ev): Q·Kᵀ then softmax·V.

    ``B·L·S·E + B·L·S·Ev`` multiplications (B = product of leading dims); the softmax and the scaling
    are other ops (``B·L·S`` each). On the meta device PyTorch runs the same computation as bmm +
    softmax + mul, which the table counts op by op to the same MACs.
    """
    q, k, v = _shape(args[0]), _shape(args[1]), _shape(args[2])
    bt = math.prod(q[:-2])
    lq, e = q[-2], q[-1]
    s, ev = k[-2], v[-1]
    mults = bt * lq * s * (e + ev)
    acc = bt * lq * s * (e - 1) + bt * lq * ev * (s - 1)
    return OpCost(mults, acc, 0, other_ops=2 * bt * lq * s)


# --- other ops ------------------------------------------------------------------------------------------


def per_output_element(factor: int = 1) -> Formula:
    """A formula counting `factor` other ops per element of the (first) output."""

    def formula(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> OpCost:
        t = first_tensor(out)
        return OpCost(other_ops=factor * numel(t) if t is not None else 0, category="other")

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


def _default_formulas() -> dict[str, Formula]:
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
    return table


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


class FormulaTable:
    """Op formulas keyed by op name, plus module formulas keyed by module class."""

    def __init__(
        self,
        ops: dict[str, Formula] | None = None,
        modules: dict[type, ModuleFormula] | None = None,
    ) -> None:
        self.ops: dict[str, Formula] = dict(ops or {})
        self.modules: dict[type, ModuleFormula] = dict(modules or {})

    def copy(self) -> FormulaTable:
        """An independent copy (registering on it leaves this table alone)."""
        return FormulaTable(self.ops, self.modules)

    def register(self, op: Any, formula: Formula) -> None:
        """Use `formula` for `op` (replacing any previous one)."""
        if not callable(formula):
            raise config_error(
                "`formula` must be callable (args, kwargs, output) -> OpCost.", formula=formula
            )
        self.ops[op_key(op)] = formula

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
        """The formula for a module instance (its class or the nearest registered base), or None."""
        if not self.modules:
            return None
        for cls in type(module).__mro__:
            if cls in self.modules:
                return self.modules[cls]
        return None

    def merged(self, extra: dict[Any, Formula] | Iterable[tuple[Any, Formula]] | None) -> FormulaTable:
        """A copy with `extra` op formulas added."""
        table = self.copy()
        items = extra.items() if isinstance(extra, dict) else (extra or ())
        for op, formula in items:
            if isinstance(op, type):
                table.register_module(op, formula)  # type: ignore[arg-type]
            else:
                table.register(op, formula)
        return table


def _default_module_formulas() -> dict[type, ModuleFormula]:
    from convwise.layers import SpecConv2d

    return {SpecConv2d: spec_conv_formula}


#: The table `profile` uses unless given another one.
DEFAULT_FORMULAS = FormulaTable(_default_formulas(), _default_module_formulas())


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
