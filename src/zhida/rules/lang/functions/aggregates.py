"""Aggregates over a period range — sum, avg, count, and min/max of one argument — and
min/max of several values. Any unknown period makes sum, avg, min and max unknown; count of a
condition is unknown when any period is, count of a value counts the known ones.
(quarterly_avg is written out by the parser as arithmetic on monthly values: parse.py.)"""

from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING, Any

import polars as pl

from zhida.rules.lang import ast
from zhida.rules.lang.functions.base import Function
from zhida.rules.lang.numbers import round_fraction
from zhida.rules.lang.scaled import DIV_SCALE, Numeric, any_null, const, null_value, strict_extreme
from zhida.rules.lang.types import NUMERIC, T, join_numeric

if TYPE_CHECKING:
    from zhida.rules.evaluate.compile import Compiler
    from zhida.rules.evaluate.interpret import Interpreter
    from zhida.rules.lang.typecheck import TypeChecker

_USAGE = {
    "min": "最小值：min(a, b, ...)；或区间最小值 min(x[months(-12..-1)])",
    "max": "最大值：max(a, b, ...)；或区间最大值",
    "sum": "区间求和：sum(x[months(-12..-1)])",
    "avg": "区间平均：avg(x[months(-12..-1)])",
    "count": "区间计数：count(x[months(-12..-1)] > 0)",
}


def _is_aggregate(node: ast.Call) -> bool:
    return node.name in ("sum", "avg", "count") or len(node.args) == 1


def _check(tc: TypeChecker, node: ast.Call) -> T:
    if _is_aggregate(node):
        return _check_aggregate(tc, node)
    ts = [tc.expect(a, "numeric") for a in node.args]
    bases = [t.base for t in ts]
    if "error" in bases:
        return T("error")
    out = bases[0]
    for b in bases[1:]:
        if {out, b} == {"money", "count"}:
            return tc.fail(node, f"{node.name} 的参数混用了金额与人数")
        out = join_numeric(out, b)
    return T(out)


def _check_aggregate(tc: TypeChecker, node: ast.Call) -> T:
    name = node.name
    if not tc.arity(node, 1, 1):
        return T("error")
    t = tc.infer(node.args[0])
    if t.base == "error":
        return t
    if not t.series:
        return tc.fail(node, f"{name} 需要一段期间的值", f"例如 {name}(x[months(-12..-1)])")
    if name == "count":
        return T("count")
    if t.base not in NUMERIC:
        return tc.fail(node, f"{name} 只能汇总数值")
    return T("number" if name == "avg" and t.base == "count" else t.base)


def _polars(c: Compiler, node: ast.Call) -> Numeric:
    name = node.name
    if not _is_aggregate(node):
        parts = [c.num(a) for a in node.args]
        if all(p.const is not None for p in parts):
            values = [p.const for p in parts if p.const is not None]
            return const(min(values) if name == "min" else max(values))
        return c.extreme(name, parts)
    items, scale = c.period_items(node)
    if name == "count":
        if c.type_of(node.args[0]).base == "bool":
            total = pl.sum_horizontal([e.cast(pl.Int64) for e in items])
            return Numeric(pl.when(any_null(items)).then(null_value()).otherwise(total), 0)
        return Numeric(pl.sum_horizontal([e.is_not_null().cast(pl.Int64) for e in items]), 0)
    if name in ("min", "max"):
        return Numeric(strict_extreme(name, items), scale)
    summed = Numeric(pl.when(any_null(items)).then(null_value()).otherwise(pl.sum_horizontal(items)), scale)
    return summed if name == "sum" else c.arith("/", summed, const(Fraction(len(items))))


def _reference(i: Interpreter, node: ast.Call) -> Any:
    name = node.name
    if not _is_aggregate(node):
        values = [i.eval(a) for a in node.args]
        if any(v is None for v in values):
            return None
        nums = [i.number(v) for v in values]
        return min(nums) if name == "min" else max(nums)
    values = i.period_values(node)
    if name == "count":
        if i.typer.infer(node.args[0]).base == "bool":
            return None if any(v is None for v in values) else Fraction(sum(1 for v in values if v))
        return Fraction(sum(1 for v in values if v is not None))
    if any(v is None for v in values):
        return None
    nums = [i.number(v) for v in values]
    if name == "sum":
        return sum(nums, Fraction(0))
    if name == "avg":
        return round_fraction(sum(nums, Fraction(0)) / len(nums), DIV_SCALE, "half_even")
    return min(nums) if name == "min" else max(nums)


ENTRIES = (
    Function("min", _USAGE["min"], "min(ui_paid_year[last_year] * 60%, 100万)", _check, _polars, _reference),
    Function("max", _USAGE["max"], "max(taxable_income[last_year], 0)", _check, _polars, _reference),
    Function("sum", _USAGE["sum"], "sum(ui_paid[months(-12..-1)])", _check, _polars, _reference),
    Function("avg", _USAGE["avg"], "avg(insured[months(-12..-1)]) >= 10", _check, _polars, _reference),
    Function("count", _USAGE["count"], "count(ui_paid[months(-12..-1)] > 0) >= 12", _check, _polars, _reference),
)
