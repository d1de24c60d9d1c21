"""AST → Polars expressions over the population frame (decisions 0001 and 0002).

Numbers compile to integer columns with a static decimal scale, so money is exact.
Conditions compile to Boolean columns whose nulls are Kleene "unknown".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from fractions import Fraction

import polars as pl

from zhida.rules import ast, frame
from zhida.rules.errors import ExpressionError
from zhida.rules.params import Parameter, lookup
from zhida.rules.periods import resolve
from zhida.rules.schema import Schema
from zhida.rules.types import Env, T, Typer

DIV_SCALE = 12  # division rounds half-even to this many decimal places (decision 0002)
MAX_SCALE = 30
WIDE = pl.Int128
ROUNDING_MODES = ("half_up", "half_even", "down", "up", "floor", "ceil")


@dataclass(frozen=True)
class Numeric:
    """value = expr / 10**scale, or the exact constant `const`."""

    expr: pl.Expr | None
    scale: int
    const: Fraction | None = None

    def at(self, scale: int) -> pl.Expr:
        """The value as an integer expression at a scale ≥ its own (exact)."""
        if self.const is not None:
            scaled = self.const * 10**scale
            if scaled.denominator != 1:
                raise ValueError("constant not representable at this scale")
            return pl.lit(int(scaled), dtype=WIDE)
        assert self.expr is not None
        if scale == self.scale:
            return self.expr
        return self.expr.cast(WIDE) * pl.lit(10 ** (scale - self.scale), dtype=WIDE)


def const_scale(value: Fraction) -> int:
    """Decimal places a constant needs; numbers in policies are finite decimals."""
    for s in range(MAX_SCALE + 1):
        if (value * 10**s).denominator == 1:
            return s
    raise ExpressionError(f"数值 {value} 不是有限小数")


def const(value: Fraction) -> Numeric:
    return Numeric(None, const_scale(value), value)


def _null() -> pl.Expr:
    return pl.lit(None)


def round_div(n: pl.Expr, d: pl.Expr, mode: str) -> pl.Expr:
    """Integer n / d rounded by `mode`; null when d == 0. Exact integer arithmetic."""
    sign = pl.when(d < 0).then(pl.lit(-1, dtype=WIDE)).otherwise(pl.lit(1, dtype=WIDE))
    n, d = n.cast(WIDE) * sign, d.cast(WIDE) * sign
    q = n.floordiv(d)
    r = n - q * d  # 0 <= r < d
    twice = r * 2
    if mode == "half_up":  # half away from zero
        bump = (twice > d) | ((twice == d) & (n >= 0))
    elif mode == "half_even":
        bump = (twice > d) | ((twice == d) & (q % 2 != 0))
    elif mode in ("floor",):
        bump = pl.lit(False)
    elif mode == "ceil":
        bump = r != 0
    elif mode == "down":  # toward zero
        bump = (r != 0) & (n < 0)
    elif mode == "up":  # away from zero
        bump = (r != 0) & (n >= 0)
    else:
        raise ValueError(mode)
    out = q + bump.cast(WIDE)
    return pl.when(d == 0).then(_null()).otherwise(out)


def rescale(x: Numeric, scale: int, mode: str) -> pl.Expr:
    """The value at `scale` decimal places, rounding by `mode` when scale shrinks."""
    if x.const is not None:
        from zhida.rules.numbers import round_fraction

        return pl.lit(int(round_fraction(x.const, scale, mode) * 10**scale), dtype=WIDE)
    if scale >= x.scale:
        return x.at(scale)
    assert x.expr is not None
    return round_div(x.expr, pl.lit(10 ** (x.scale - scale), dtype=WIDE), mode)


class Compiler:
    """Compiles the expressions of one policy for one evaluation date."""

    def __init__(self, schema: Schema, params: Mapping[str, Parameter], as_of: date) -> None:
        self.schema = schema
        self.params = params
        self.as_of = as_of
        self.requirements = frame.Requirements()
        self.typer = Typer(Env(schema, {k: p.type_base for k, p in params.items()}))
        self._binding: dict[int, str] = {}

    # -- entry points -----------------------------------------------------------------
    def check(self, node: ast.Node, want: str) -> T:
        t = self.typer.expect(node, want)
        if self.typer.problems:
            raise self.typer.problems[0]
        return t

    def predicate(self, node: ast.Node) -> pl.Expr:
        self.check(node, "bool")
        return self._bool(node)

    def amount(self, node: ast.Node) -> Numeric:
        self.check(node, "numeric")
        return self._num(node)

    # -- dispatch -----------------------------------------------------------------------
    def _type(self, node: ast.Node) -> T:
        return self.typer.infer(node)

    def _is_numeric(self, node: ast.Node) -> bool:
        return self._type(node).base in ("money", "count", "number")

    def _value(self, node: ast.Node) -> pl.Expr:
        """A non-numeric value: bool, date or string."""
        base = self._type(node).base
        if base == "bool":
            return self._bool(node)
        if isinstance(node, ast.Str):
            return pl.lit(node.value, dtype=pl.String)
        if isinstance(node, ast.DateLit):
            return pl.lit(node.value, dtype=pl.Date)
        if isinstance(node, ast.AsOf):
            return pl.lit(self.as_of, dtype=pl.Date)
        if isinstance(node, ast.FieldRef):
            return pl.col(self._column(node))
        if isinstance(node, ast.If):
            return self._if(node.cond, self._value(node.then), self._value(node.else_))
        if isinstance(node, ast.Call):
            if node.name == "listed_since":
                name = self._name_arg(node)
                self.requirements.list_since.add(name)
                return pl.col(frame.list_since_column(name))
            if node.name == "coalesce":
                return pl.coalesce(self._value(node.args[0]), self._value(node.args[1]))
        raise ExpressionError(f"无法计算：{node.text}", line=node.span.line, column=node.span.column)

    def _column(self, node: ast.FieldRef) -> str:
        f = self.schema.resolve(node.name)
        assert f is not None
        period: str | None = None
        if node.period is not None:
            periods = resolve(node.period, self.as_of)
            period = self._binding[id(node.period)] if isinstance(node.period, ast.PeriodRange) else periods[0]
        self.requirements.fields.add((f.id, period))
        return frame.field_column(f.id, period)

    def _name_arg(self, node: ast.Call) -> str:
        arg = node.args[0]
        assert isinstance(arg, ast.Str)
        return arg.value

    # -- conditions ---------------------------------------------------------------------
    def _bool(self, node: ast.Node) -> pl.Expr:
        if isinstance(node, ast.Bool):
            return pl.lit(node.value, dtype=pl.Boolean)
        if isinstance(node, ast.FieldRef):
            return pl.col(self._column(node))
        if isinstance(node, ast.Not):
            return ~self._bool(node.operand)
        if isinstance(node, ast.BoolOp):
            parts = [self._bool(i) for i in node.items]
            out = parts[0]
            for p in parts[1:]:
                out = (out & p) if node.op == "and" else (out | p)
            return out
        if isinstance(node, ast.Compare):
            return self._compare(node)
        if isinstance(node, ast.In):
            return self._in(node)
        if isinstance(node, ast.If):
            return self._if(node.cond, self._bool(node.then), self._bool(node.else_))
        if isinstance(node, ast.Call):
            name = node.name
            if name == "listed":
                n = self._name_arg(node)
                self.requirements.lists.add(n)
                return pl.col(frame.list_column(n))
            if name == "tagged":
                n = self._name_arg(node)
                self.requirements.tags.add(n)
                return pl.col(frame.tag_column(n))
            if name == "within":
                n = self._name_arg(node)
                self.requirements.zones.add(n)
                return pl.col(frame.zone_column(n))
            if name == "starts_with":
                col = self._value(node.args[0])
                raw = node.args[1]
                prefixes = [raw.value] if isinstance(raw, ast.Str) else [
                    i.value for i in raw.items if isinstance(i, ast.Str)] if isinstance(raw, ast.ListLit) else []
                if not prefixes:
                    return pl.when(col.is_null()).then(_null()).otherwise(pl.lit(False))
                matched = col.str.starts_with(prefixes[0])
                for prefix in prefixes[1:]:
                    matched = matched | col.str.starts_with(prefix)
                return matched
            if name == "known":
                arg = node.args[0]
                if self._is_numeric(arg):
                    known = self._num(arg)
                    return pl.lit(True) if known.expr is None else known.expr.is_not_null()
                return self._value(arg).is_not_null()
            if name == "param" or name == "coalesce":
                return self._value(node)
        raise ExpressionError(f"无法作为条件计算：{node.text}", line=node.span.line, column=node.span.column)

    def _if(self, cond: ast.Node, then: pl.Expr, else_: pl.Expr) -> pl.Expr:
        c = self._bool(cond)
        return pl.when(c.is_null()).then(_null()).when(c).then(then).otherwise(else_)

    def _compare(self, node: ast.Compare) -> pl.Expr:
        op = node.op
        if not self._is_numeric(node.left):
            return _OPS[op](self._value(node.left), self._value(node.right))
        a, b = self._num(node.left), self._num(node.right)
        if a.const is not None and b.const is not None:
            return pl.lit(bool(_OPS_F[op](a.const, b.const)), dtype=pl.Boolean)
        if b.const is not None and b.scale > a.scale:
            return _compare_const(a, op, b.const)
        if a.const is not None and a.scale > b.scale:
            return _compare_const(b, _FLIP[op], a.const)
        s = max(a.scale, b.scale)
        if b.const is not None:
            return _OPS[op](a.at(s), pl.lit(int(b.const * 10**s)))
        if a.const is not None:
            return _OPS[op](pl.lit(int(a.const * 10**s)), b.at(s))
        return _OPS[op](a.at(s), b.at(s))

    def _in(self, node: ast.In) -> pl.Expr:
        if self._is_numeric(node.left):
            x = self._num(node.left)
            consts = [self._num(i).const for i in node.items.items]
            if any(c is None for c in consts):
                raise ExpressionError("in 的列表只能包含常量", line=node.span.line, column=node.span.column)
            values = [int(c * 10**x.scale) for c in consts
                      if c is not None and (c * 10**x.scale).denominator == 1]
            assert x.expr is not None
            col = x.expr
            out = col.is_in(pl.Series(values, dtype=pl.Int64).implode())
        else:
            col = self._value(node.left)
            values_s = [i.value for i in node.items.items if isinstance(i, ast.Str)]
            out = col.is_in(pl.Series(values_s, dtype=pl.String).implode())
        out = pl.when(col.is_null()).then(_null()).otherwise(out)
        return ~out if node.negated else out

    # -- numbers ------------------------------------------------------------------------
    def _num(self, node: ast.Node) -> Numeric:
        if isinstance(node, ast.Num):
            return const(node.value)
        if isinstance(node, ast.FieldRef):
            f = self.schema.resolve(node.name)
            assert f is not None
            return Numeric(pl.col(self._column(node)), f.numeric_scale)
        if isinstance(node, ast.Neg):
            x = self._num(node.operand)
            if x.const is not None:
                return const(-x.const)
            assert x.expr is not None
            return Numeric(-x.expr.cast(WIDE), x.scale)
        if isinstance(node, ast.Arith):
            return self._arith(node.op, self._num(node.left), self._num(node.right))
        if isinstance(node, ast.If):
            a, b = self._num(node.then), self._num(node.else_)
            s = max(a.scale, b.scale)
            return Numeric(self._if(node.cond, a.at(s), b.at(s)), s)
        if isinstance(node, ast.Call):
            return self._num_call(node)
        raise ExpressionError(f"无法作为数值计算：{node.text}", line=node.span.line, column=node.span.column)

    def _arith(self, op: str, a: Numeric, b: Numeric) -> Numeric:
        if a.const is not None and b.const is not None and not (op == "/" and b.const == 0):
            if op == "/":
                from zhida.rules.numbers import round_fraction

                return const(round_fraction(a.const / b.const, DIV_SCALE, "half_even"))
            value = _OPS_F[op](a.const, b.const)
            assert isinstance(value, Fraction)
            return const(value)
        if op in "+-":
            s = max(a.scale, b.scale)
            x, y = a.at(s).cast(WIDE), b.at(s).cast(WIDE)
            return Numeric(x + y if op == "+" else x - y, s)
        if op == "*":
            if b.const is not None and b.const.denominator == 1:
                assert a.expr is not None
                return Numeric(a.expr.cast(WIDE) * pl.lit(int(b.const), dtype=WIDE), a.scale)
            if a.const is not None and a.const.denominator == 1:
                return self._arith("*", b, a)
            s = a.scale + b.scale
            if s > MAX_SCALE:
                raise ExpressionError("乘法的精度超过 30 位小数", fix="拆分公式或先 round(...)")
            return Numeric(a.at(a.scale).cast(WIDE) * b.at(b.scale).cast(WIDE), s)
        # division: (a / 10^sa) / (b / 10^sb) at DIV_SCALE, half-even
        n = a.at(a.scale).cast(WIDE) * pl.lit(10 ** (b.scale + DIV_SCALE), dtype=WIDE)
        d = b.at(b.scale).cast(WIDE) * pl.lit(10**a.scale, dtype=WIDE)
        return Numeric(round_div(n, d, "half_even"), DIV_SCALE)

    def _num_call(self, node: ast.Call) -> Numeric:
        name, args = node.name, node.args
        if name in ("sum", "avg", "count") or (name in ("min", "max") and len(args) == 1):
            return self._aggregate(node)
        if name in ("min", "max"):
            parts = [self._num(a) for a in args]
            if all(p.const is not None for p in parts):
                vals = [p.const for p in parts if p.const is not None]
                return const(min(vals) if name == "min" else max(vals))
            s = max(p.scale for p in parts)
            exprs = [p.at(s).cast(WIDE) for p in parts]
            return Numeric(_strict_horizontal(name, exprs), s)
        if name in ("round", "floor", "ceil"):
            digits = int(args[1].value) if len(args) == 2 and isinstance(args[1], ast.Num) else 0
            mode = {"round": "half_up", "floor": "floor", "ceil": "ceil"}[name]
            return Numeric(rescale(self._num(args[0]), digits, mode), digits)
        if name == "abs":
            x = self._num(args[0])
            if x.const is not None:
                return const(abs(x.const))
            assert x.expr is not None
            return Numeric(x.expr.cast(WIDE).abs(), x.scale)
        if name == "tier":
            return self._tier(node)
        if name == "years_since":
            d = self._value(args[0])
            before = (d.dt.month().cast(pl.Int32) * 100 + d.dt.day().cast(pl.Int32)) > (
                self.as_of.month * 100 + self.as_of.day)
            years = pl.lit(self.as_of.year, dtype=pl.Int64) - d.dt.year().cast(pl.Int64) - before.cast(pl.Int64)
            return Numeric(years, 0)
        if name == "param":
            return self._param(node)
        if name == "coalesce":
            a, b = self._num(args[0]), self._num(args[1])
            s = max(a.scale, b.scale)
            return Numeric(pl.coalesce(a.at(s).cast(WIDE), b.at(s).cast(WIDE)), s)
        raise ExpressionError(f"无法作为数值计算：{node.text}", line=node.span.line, column=node.span.column)

    def _tier(self, node: ast.Call) -> Numeric:
        x = self._num(node.args[0])
        bounds_node, values_node = node.args[1], node.args[2]
        assert isinstance(bounds_node, ast.ListLit) and isinstance(values_node, ast.ListLit)
        values = [self._num(v) for v in values_node.items]
        s = max(v.scale for v in values)
        bounds = [self._num(b).const for b in bounds_node.items]
        xs = max(x.scale, *(const_scale(b) for b in bounds if b is not None))
        xe = x.at(xs)
        # Built from the top step down, so each step is an otherwise() of the one below.
        out: pl.Expr = values[-1].at(s)
        for bound, v in reversed(list(zip(bounds, values, strict=False))):
            assert bound is not None
            out = pl.when(xe < pl.lit(int(bound * 10**xs), dtype=WIDE)).then(v.at(s)).otherwise(out)
        return Numeric(pl.when(xe.is_null()).then(_null()).otherwise(out), s)

    def _param(self, node: ast.Call) -> Numeric:
        p = self.params[self._name_arg(node)]
        values = p.at(self.as_of)
        if values is None:
            return Numeric(pl.lit(None, dtype=WIDE), 0)
        distinct = set(values.values())
        if len(distinct) == 1 and "default" in values:
            return const(next(iter(distinct)))
        s = max(const_scale(v) for v in distinct)
        region = self.schema.region_field
        self.requirements.fields.add((region, None))
        col = pl.col(region)
        # Most specific code first: built from the least specific up, as nested otherwise().
        out: pl.Expr = lookup_lit(values, None, s)
        for code in sorted({c for c in values if c != "default"}, key=_specificity):
            prefix = code.rstrip("0") if code.endswith("00") else code
            out = pl.when(col.str.starts_with(prefix)).then(lookup_lit(values, code, s)).otherwise(out)
        return Numeric(pl.when(col.is_null()).then(lookup_lit(values, None, s)).otherwise(out), s)

    def _aggregate(self, node: ast.Call) -> Numeric:
        arg = node.args[0]
        ranges = [n.period for n in ast.walk(arg)
                  if isinstance(n, ast.FieldRef) and isinstance(n.period, ast.PeriodRange)]
        expanded = [resolve(r, self.as_of) for r in ranges]
        lengths = {len(e) for e in expanded}
        if len(lengths) != 1 or 0 in lengths:
            raise ExpressionError(f"{node.name} 中的期间区间长度不一致或为空",
                                  line=node.span.line, column=node.span.column)
        items: list[pl.Expr] = []
        numeric = self._is_numeric(arg)
        scale = 0
        for i in range(lengths.pop()):
            self._binding = {id(r): e[i] for r, e in zip(ranges, expanded, strict=True)}
            if numeric:
                n = self._num(arg)
                scale = n.scale
                items.append(n.at(n.scale).cast(WIDE))
            else:
                items.append(self._bool(arg) if self._type(arg).base == "bool" else self._value(arg))
        self._binding = {}
        name = node.name
        if name == "count":
            if self._type(arg).base == "bool":
                total = pl.sum_horizontal([e.cast(pl.Int64) for e in items])
                return Numeric(pl.when(_any_null(items)).then(_null()).otherwise(total), 0)
            return Numeric(pl.sum_horizontal([e.is_not_null().cast(pl.Int64) for e in items]), 0)
        if name in ("min", "max"):
            return Numeric(_strict_horizontal(name, items), scale)
        total = pl.when(_any_null(items)).then(_null()).otherwise(pl.sum_horizontal(items))
        if name == "sum":
            return Numeric(total, scale)
        return self._arith("/", Numeric(total, scale), const(Fraction(len(items))))


def lookup_lit(values: Mapping[str, Fraction], region: str | None, scale: int) -> pl.Expr:
    v = lookup(values, region)
    return pl.lit(None if v is None else int(v * 10**scale), dtype=WIDE)


def _specificity(code: str) -> int:
    return len(code.rstrip("0"))


def _any_null(items: list[pl.Expr]) -> pl.Expr:
    return pl.any_horizontal([e.is_null() for e in items])


def _strict_horizontal(name: str, exprs: list[pl.Expr]) -> pl.Expr:
    """min/max that is unknown when any input is unknown (Polars skips nulls)."""
    agg = pl.min_horizontal(exprs) if name == "min" else pl.max_horizontal(exprs)
    return pl.when(_any_null(exprs)).then(_null()).otherwise(agg)


def _compare_const(x: Numeric, op: str, c: Fraction) -> pl.Expr:
    """Compare an integer column at scale s with a constant that has more decimals: exact."""
    assert x.expr is not None
    scaled = c * 10**x.scale
    floor, ceil = scaled.numerator // scaled.denominator, -((-scaled.numerator) // scaled.denominator)
    e = x.expr
    if op in _OPS and op not in ("==", "!="):
        return _OPS[op](e, pl.lit(ceil if op in (">=", "<") else floor))
    never = pl.when(e.is_null()).then(_null()).otherwise(pl.lit(False))
    return never if op == "==" else ~never


_OPS: dict[str, Callable[[pl.Expr, pl.Expr], pl.Expr]] = {
    ">=": lambda a, b: a >= b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b,
    "<": lambda a, b: a < b, "==": lambda a, b: a == b, "!=": lambda a, b: a != b,
}
_OPS_F: dict[str, Callable[[Fraction, Fraction], object]] = {
    ">=": lambda a, b: a >= b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b,
    "<": lambda a, b: a < b, "==": lambda a, b: a == b, "!=": lambda a, b: a != b,
    "+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
}
_FLIP = {">=": "<=", "<=": ">=", ">": "<", "<": ">", "==": "==", "!=": "!="}
