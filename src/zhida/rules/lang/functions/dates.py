"""Dates: years_since, months_since, year_of — whole years or months from a date to the
evaluation date (a day not yet reached does not count), and a date's year."""

from __future__ import annotations

from datetime import date
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import polars as pl

from zhida.rules.lang import ast
from zhida.rules.lang.functions.base import Function
from zhida.rules.lang.scaled import Numeric, lit
from zhida.rules.lang.types import T

if TYPE_CHECKING:
    from zhida.rules.evaluate.compile import Compiler
    from zhida.rules.evaluate.interpret import Interpreter
    from zhida.rules.lang.typecheck import TypeChecker


def _of_a_date(tc: TypeChecker, node: ast.Call) -> T:
    if not tc.arity(node, 1, 1):
        return T("error")
    t = tc.infer(node.args[0])
    if t.base not in ("date", "error") or t.series:
        return tc.fail(node, f"{node.name} 的参数应为日期", _USAGE[node.name])
    return T("count")


def _years_since(c: Compiler, node: ast.Call) -> Numeric:
    d = c.value(node.args[0])
    before = (d.dt.month().cast(pl.Int32) * 100 + d.dt.day().cast(pl.Int32)) > (c.as_of.month * 100 + c.as_of.day)
    years = lit(c.as_of.year, dtype=pl.Int64) - d.dt.year().cast(pl.Int64) - before.cast(pl.Int64)
    return Numeric(years, 0, bound=10_000)


def _years_since_ref(i: Interpreter, node: ast.Call) -> Any:
    d = i.eval(node.args[0])
    if not isinstance(d, date):
        return None
    before = (d.month, d.day) > (i.as_of.month, i.as_of.day)
    return Fraction(i.as_of.year - d.year - int(before))


def _months_since(c: Compiler, node: ast.Call) -> Numeric:
    d = c.value(node.args[0])
    before = d.dt.day().cast(pl.Int32) > c.as_of.day      # the day of the month not yet reached
    months = (lit(c.as_of.year * 12 + c.as_of.month, dtype=pl.Int64)
              - d.dt.year().cast(pl.Int64) * 12 - d.dt.month().cast(pl.Int64) - before.cast(pl.Int64))
    return Numeric(months, 0, bound=120_000)


def _months_since_ref(i: Interpreter, node: ast.Call) -> Any:
    d = i.eval(node.args[0])
    if not isinstance(d, date):
        return None
    months = (i.as_of.year - d.year) * 12 + i.as_of.month - d.month
    return Fraction(months - int(d.day > i.as_of.day))


def _year_of(c: Compiler, node: ast.Call) -> Numeric:
    return Numeric(c.value(node.args[0]).dt.year().cast(pl.Int64), 0, bound=10_000)


def _year_of_ref(i: Interpreter, node: ast.Call) -> Any:
    d = i.eval(node.args[0])
    return Fraction(d.year) if isinstance(d, date) else None


_USAGE = {
    "years_since": "距评估日整年数：years_since(established)",
    "months_since": "距评估日整月数：months_since(listed_since(\"中高风险地区\")) < 2（“列入后2个月内”）",
    "year_of": "日期所在年份：year_of(hitech_first_cert_on)",
}

ENTRIES = (
    Function("years_since", _USAGE["years_since"], "years_since(established_on) >= 3",
             _of_a_date, _years_since, _years_since_ref),
    Function("months_since", _USAGE["months_since"],
             "months_since(established_on) >= 6",
             _of_a_date, _months_since, _months_since_ref),
    Function("year_of", _USAGE["year_of"], "year_of(hitech_first_cert_on) == year_of(as_of) - 1",
             _of_a_date, _year_of, _year_of_ref),
)
