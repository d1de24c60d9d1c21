"""Values and codes: param (a policy parameter, possibly by region), coalesce (a default for a
missing value), known (whether a value is known), starts_with (a code's prefix)."""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import polars as pl

from zhida.rules.lang import ast, frame
from zhida.rules.lang.functions.base import Function, check_name, name_arg
from zhida.rules.lang.params import lookup
from zhida.rules.lang.scaled import Numeric, const, const_scale, lit, null_value
from zhida.rules.lang.schema import Schema
from zhida.rules.lang.types import NUMERIC, T, join_numeric

if TYPE_CHECKING:
    from zhida.rules.evaluate.compile import Compiler
    from zhida.rules.evaluate.interpret import Interpreter
    from zhida.rules.explanation.explain import Explainer
    from zhida.rules.lang.typecheck import TypeChecker

_USAGE = {
    "param": "政策参数：param(\"rate_sme\")",
    "starts_with": "代码前缀：starts_with(industry_code, [\"51\", \"52\"])",
    "known": "是否已知：known(x)",
    "coalesce": "缺失时取默认值：coalesce(x, 0)",
}


# -- param ------------------------------------------------------------------------------
def _check_param(tc: TypeChecker, node: ast.Call) -> T:
    return check_name(tc, node, "参数", tc.env.params, _USAGE["param"]) or T(tc.env.params[name_arg(node)])


def _param(c: Compiler, node: ast.Call) -> Numeric:
    """The value in force on as_of; by region, the most specific code first. An enterprise
    whose region is unknown gets an unknown value (not the default)."""
    values = c.params[name_arg(node)].at(c.as_of)
    if values is None:
        return Numeric(lit(None, dtype=pl.Int64), 0, bound=0)
    distinct = set(values.values())
    if len(distinct) == 1 and set(values) == {"default"}:
        return const(next(iter(distinct)))
    s = max(const_scale(v) for v in distinct)
    bound = max(abs(int(v * 10**s)) for v in distinct)
    region = c.schema.region_field
    c.requirements.fields.add((region, None))
    col = c.col(region)
    # built from the least specific code up, as nested otherwise()
    out: pl.Expr = _lookup_lit(values, None, s)
    for code in sorted({k for k in values if k != "default"}, key=lambda k: len(k.rstrip("0"))):
        prefix = code.rstrip("0") if code.endswith("00") else code
        out = pl.when(col.cat.starts_with(prefix)).then(_lookup_lit(values, code, s)).otherwise(out)
    return Numeric(pl.when(col.is_null()).then(lit(None, dtype=pl.Int64)).otherwise(out), s, bound=bound)


def _lookup_lit(values: Mapping[str, Fraction], region: str | None, scale: int) -> pl.Expr:
    v = lookup(values, region)
    return lit(None if v is None else int(v * 10**scale), dtype=pl.Int64)


def _param_ref(i: Interpreter, node: ast.Call) -> Any:
    values = i.params[name_arg(node)].at(i.as_of)
    if values is None:
        return None
    region = i.row.get(i.schema.region_field)
    if region is None and set(values) != {"default"}:
        return None  # the value depends on a region we do not know
    return lookup(values, region if isinstance(region, str) else None)


def _param_shown(ex: Explainer, node: ast.Call, value: Any) -> str | None:
    if isinstance(value, Fraction) and ex.c.policy.params[name_arg(node)].unit == "percent":
        return f"{ex.format(value * 100, 'number')}%"
    return None


def _param_reads(node: ast.Call, schema: Schema) -> list[str]:
    return [frame.field_column(schema.region_field)] if schema.region_field in schema.fields else []


# -- coalesce, known ---------------------------------------------------------------------
def _check_coalesce(tc: TypeChecker, node: ast.Call) -> T:
    if not tc.arity(node, 2, 2):
        return T("error")
    first, second = tc.infer(node.args[0]), tc.infer(node.args[1])
    if first.base in NUMERIC and second.base in NUMERIC:
        return T(join_numeric(first.base, second.base), first.series)
    if first.base != second.base:
        return tc.fail(node, "coalesce 的两个参数类型应相同")
    return first


def _coalesce(c: Compiler, node: ast.Call) -> pl.Expr | Numeric:
    a, b = node.args
    if c.is_numeric(node):
        return c.choice(c.num(a), c.num(b), lambda x, y: pl.coalesce(x, y))
    return pl.coalesce(c.value(a), c.value(b))


def _coalesce_ref(i: Interpreter, node: ast.Call) -> Any:
    v = i.eval(node.args[0])
    return i.eval(node.args[1]) if v is None else v


def _check_known(tc: TypeChecker, node: ast.Call) -> T:
    return T("bool") if tc.arity(node, 1, 1) and tc.infer(node.args[0]).base != "error" else T("error")


def _known(c: Compiler, node: ast.Call) -> pl.Expr:
    arg = node.args[0]
    if c.is_numeric(arg):
        x = c.num(arg)
        return lit(True) if x.expr is None else x.expr.is_not_null()
    return c.value(arg).is_not_null()


def _known_ref(i: Interpreter, node: ast.Call) -> Any:
    return i.eval(node.args[0]) is not None


# -- starts_with -------------------------------------------------------------------------
def _prefixes(node: ast.Call) -> list[str]:
    raw = node.args[1]
    if isinstance(raw, ast.Str):
        return [raw.value]
    return [i.value for i in raw.items if isinstance(i, ast.Str)] if isinstance(raw, ast.ListLit) else []


def _check_starts_with(tc: TypeChecker, node: ast.Call) -> T:
    if not tc.arity(node, 2, 2):
        return T("error")
    t = tc.infer(node.args[0])
    prefixes = node.args[1]
    ok = isinstance(prefixes, ast.Str) or (
        isinstance(prefixes, ast.ListLit) and all(isinstance(i, ast.Str) for i in prefixes.items))
    if t.base not in ("string", "error") or not ok:
        return tc.fail(node, "starts_with 的参数应为代码字段和前缀", _USAGE["starts_with"])
    return T("bool", t.series)


def _starts_with(c: Compiler, node: ast.Call) -> pl.Expr:
    col = c.value(node.args[0])
    prefixes = _prefixes(node)
    if not prefixes:
        return pl.when(col.is_null()).then(null_value()).otherwise(lit(False))
    matched = col.cat.starts_with(prefixes[0])
    for prefix in prefixes[1:]:
        matched = matched | col.cat.starts_with(prefix)
    return matched


def _starts_with_ref(i: Interpreter, node: ast.Call) -> Any:
    code = i.eval(node.args[0])
    return None if code is None else any(str(code).startswith(p) for p in _prefixes(node))


def _starts_with_reason(ex: Explainer, node: ast.Call, negated: bool) -> str:
    prefixes = node.args[1]
    shown = prefixes.text.strip("[]") if isinstance(prefixes, ast.ListLit) else prefixes.text
    return f"{ex.name(node.args[0])} 为 {ex.shown(node.args[0])}，需{'不以' if negated else '以'} {shown} 开头"


ENTRIES = (
    Function("param", _USAGE["param"], 'ui_paid_year[last_year] * param("rate_sme")', _check_param, _param, _param_ref,
             reads=_param_reads, shown=_param_shown),
    Function("coalesce", _USAGE["coalesce"], "coalesce(invention_patents, 0)",
             _check_coalesce, _coalesce, _coalesce_ref),
    Function("known", _USAGE["known"], "known(revenue[last_year])", _check_known, _known, _known_ref),
    Function("starts_with", _USAGE["starts_with"], 'starts_with(industry_code, ["51", "52"])',
             _check_starts_with, _starts_with, _starts_with_ref, reason=_starts_with_reason),
)
