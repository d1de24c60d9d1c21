"""Arithmetic: round (half up), floor, ceil to 0–8 decimals, abs, and tier (a value by bands of
a threshold list: below the first threshold the first value, and so on)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import polars as pl

from zhida.rules.lang import ast
from zhida.rules.lang.functions.base import Function
from zhida.rules.lang.numbers import round_fraction
from zhida.rules.lang.scaled import Numeric, const, const_scale, int_type, lit, rescale, rounded_bound
from zhida.rules.lang.types import T, join_numeric

if TYPE_CHECKING:
    from zhida.rules.evaluate.compile import Compiler
    from zhida.rules.evaluate.interpret import Interpreter
    from zhida.rules.lang.typecheck import TypeChecker

_MODES = {"round": "half_up", "floor": "floor", "ceil": "ceil"}
_TIER = "分档：tier(x, [门槛1, 门槛2], [值0, 值1, 值2])"


def _check_rounding(tc: TypeChecker, node: ast.Call) -> T:
    args = node.args
    if not tc.arity(node, 1, 2):
        return T("error")
    if len(args) == 2 and not (isinstance(args[1], ast.Num) and args[1].value.denominator == 1
                               and 0 <= args[1].value <= 8):
        return tc.fail(args[1], "保留位数应为 0 到 8 的整数")
    return tc.expect(args[0], "numeric")


def _digits(node: ast.Call) -> int:
    return int(node.args[1].value) if len(node.args) == 2 and isinstance(node.args[1], ast.Num) else 0


def _rounding(c: Compiler, node: ast.Call) -> Numeric:
    digits = _digits(node)
    x = c.num(node.args[0])
    return Numeric(rescale(x, digits, _MODES[node.name]), digits, bound=rounded_bound(x, digits))


def _rounding_ref(i: Interpreter, node: ast.Call) -> Any:
    v = i.eval(node.args[0])
    return None if v is None else round_fraction(i.number(v), _digits(node), _MODES[node.name])


def _check_abs(tc: TypeChecker, node: ast.Call) -> T:
    return tc.expect(node.args[0], "numeric") if tc.arity(node, 1, 1) else T("error")


def _abs(c: Compiler, node: ast.Call) -> Numeric:
    x = c.num(node.args[0])
    if x.const is not None:
        return const(abs(x.const))
    assert x.expr is not None
    return Numeric(x.expr.cast(int_type(x.bound)).abs(), x.scale, bound=x.bound)


def _abs_ref(i: Interpreter, node: ast.Call) -> Any:
    v = i.eval(node.args[0])
    return None if v is None else abs(i.number(v))


def _check_tier(tc: TypeChecker, node: ast.Call) -> T:
    args = node.args
    if len(args) != 3 or not isinstance(args[1], ast.ListLit) or not isinstance(args[2], ast.ListLit):
        return tc.fail(node, "tier 的写法不对", _TIER)
    x = tc.expect(args[0], "numeric")
    bounds, values = args[1].items, args[2].items
    if len(values) != len(bounds) + 1:
        return tc.fail(node, f"tier 有 {len(bounds)} 个门槛，应有 {len(bounds) + 1} 个档位值，实有 {len(values)} 个")
    if not all(isinstance(b, ast.Num) for b in bounds):
        return tc.fail(args[1], "tier 的门槛应为数字")
    nums = [b.value for b in bounds if isinstance(b, ast.Num)]
    if nums != sorted(nums) or len(set(nums)) != len(nums):
        return tc.fail(args[1], "tier 的门槛应从小到大排列且不重复")
    out: str | None = None
    for v in values:
        t = tc.expect(v, "numeric")
        if t.base == "error":
            return t
        out = t.base if out is None else join_numeric(out, t.base)
    if x.base == "error":
        return x
    return T(out or "number")


def _tier(c: Compiler, node: ast.Call) -> Numeric:
    x = c.num(node.args[0])
    bounds_node, values_node = node.args[1], node.args[2]
    assert isinstance(bounds_node, ast.ListLit) and isinstance(values_node, ast.ListLit)
    values = [c.num(v) for v in values_node.items]
    s = max(v.scale for v in values)
    vb = [v.bound_at(s) for v in values]
    bound = None if any(b is None for b in vb) else max(b for b in vb if b is not None)
    dtype = int_type(bound)
    thresholds = [c.num(b).const for b in bounds_node.items]
    xs = max(x.scale, *(const_scale(b) for b in thresholds if b is not None))
    xe = x.at(xs)
    xdtype = int_type(x.bound_at(xs) if x.bound is not None else None)
    # when(x < t1) → v0, when(x < t2) → v1, …, when(x known) → last; unknown x → null.
    steps = [(xe < lit(int(t * 10**xs), dtype=xdtype), v.at(s).cast(dtype))
             for t, v in zip(thresholds, values, strict=False) if t is not None]
    chain = pl.when(steps[0][0]).then(steps[0][1])
    for cond, value in steps[1:]:
        chain = chain.when(cond).then(value)  # type: ignore[assignment]
    out = chain.when(xe.is_not_null()).then(values[-1].at(s).cast(dtype)).otherwise(lit(None, dtype=dtype))
    return Numeric(out, s, bound=bound)


def _tier_ref(i: Interpreter, node: ast.Call) -> Any:
    x = i.eval(node.args[0])
    if x is None:
        return None
    bounds, values = node.args[1], node.args[2]
    assert isinstance(bounds, ast.ListLit) and isinstance(values, ast.ListLit)
    for b, v in zip(bounds.items, values.items, strict=False):
        if i.number(x) < i.number(i.eval(b)):
            return i.eval(v)
    return i.eval(values.items[-1])


ENTRIES = (
    Function("round", "四舍五入：round(x, 2)", "round(ui_paid_year[last_year] * 3%, 2)",
             _check_rounding, _rounding, _rounding_ref),
    Function("floor", "向下取整：floor(x)", "floor(ui_paid_year[last_year] / 12, 0)",
             _check_rounding, _rounding, _rounding_ref),
    Function("ceil", "向上取整：ceil(x)", "ceil(insured[last_month] / 12)",
             _check_rounding, _rounding, _rounding_ref),
    Function("abs", "绝对值：abs(x)", "abs(revenue[last_year] - revenue[year(-2)])",
             _check_abs, _abs, _abs_ref),
    Function("tier", _TIER, "tier(rd_expense[last_year], [1000万, 5000万, 1亿], [0, 20万, 40万, 70万])",
             _check_tier, _tier, _tier_ref),
)
