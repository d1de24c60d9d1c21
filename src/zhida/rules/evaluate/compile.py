"""AST → Polars expressions over the population frame (decisions 0001 and 0002).

Numbers compile to integer columns with a static decimal scale, so money is exact.
Conditions compile to Boolean columns whose nulls are Kleene "unknown".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from fractions import Fraction

import polars as pl

from zhida.rules.lang import ast, frame
from zhida.rules.lang.errors import ExpressionError
from zhida.rules.lang.functions import FUNCTIONS
from zhida.rules.lang.params import Parameter
from zhida.rules.lang.periods import resolve
from zhida.rules.lang.scaled import (
    DIV_SCALE,
    MAX_SCALE,
    WIDE,
    Numeric,
    add_bounds,
    const,
    int_type,
    lit,
    members,
    null_value,
    round_div,
    round_div_const,
    strict_extreme,
)
from zhida.rules.lang.schema import Schema
from zhida.rules.lang.typecheck import TypeChecker
from zhida.rules.lang.types import Env, T


class Compiler:
    """Compiles the expressions of one policy for one evaluation date."""

    def __init__(self, schema: Schema, params: Mapping[str, Parameter], as_of: date,
                 rows: pl.Series | None = None, bounds: Mapping[str, int] | None = None,
                 typer: TypeChecker | None = None, element: bool = False) -> None:
        """`rows` (row numbers), when given, evaluates the expressions on those frame rows
        only: each column is gathered first. With `element`, a column is read as the field of
        the same name of `pl.element()`, a struct: the expression then runs inside `list.eval`
        over rows gathered beforehand (the batch engine's amounts, engine.py), so it costs in
        proportion to those rows and reads each input once, however often it names it."""
        self.rows = rows
        self.element = element
        self.bounds: Mapping[str, int] = bounds or {}
        self.schema = schema
        self.params = params
        self.as_of = as_of
        self.requirements = frame.Requirements()
        # A TypeChecker caches the type of every node; compilers of one policy can share one.
        self.typer = typer or TypeChecker(Env(schema, {k: p.type_base for k, p in params.items()}))
        self._binding: dict[int, str] = {}
        # Conditions compiled already (by node id): reused with what they read, not rebuilt.
        self.known: dict[int, tuple[pl.Expr, frame.Requirements]] = {}

    # -- entry points -----------------------------------------------------------------
    def check(self, node: ast.Node, want: str) -> T:
        t = self.typer.expect(node, want)
        if self.typer.problems:
            raise self.typer.problems[0]
        return t

    def predicate(self, node: ast.Node) -> pl.Expr:
        self.check(node, "bool")
        return self.condition(node)

    def amount(self, node: ast.Node) -> Numeric:
        self.check(node, "numeric")
        return self.num(node)

    # -- dispatch -----------------------------------------------------------------------
    def type_of(self, node: ast.Node) -> T:
        return self.typer.infer(node)

    def is_numeric(self, node: ast.Node) -> bool:
        return self.type_of(node).base in ("money", "count", "number")

    def value(self, node: ast.Node) -> pl.Expr:
        """A non-numeric value: bool, date or string."""
        base = self.type_of(node).base
        if base == "bool":
            return self.condition(node)
        if isinstance(node, ast.Str):
            return lit(node.value, dtype=pl.String)
        if isinstance(node, ast.DateLit):
            return lit(node.value, dtype=pl.Date)
        if isinstance(node, ast.AsOf):
            return lit(self.as_of, dtype=pl.Date)
        if isinstance(node, ast.FieldRef):
            return self.col(self._column(node))
        if isinstance(node, ast.If):
            return self._if(node.cond, self.value(node.then), self.value(node.else_))
        if isinstance(node, ast.Call):
            return self._call_expr(node)
        raise ExpressionError(f"无法计算：{node.text}", line=node.span.line, column=node.span.column)

    def col(self, name: str) -> pl.Expr:
        if self.element:
            return pl.element().struct.field(name)
        col = pl.col(name)
        return col if self.rows is None else col.gather(pl.lit(self.rows))

    def _column(self, node: ast.FieldRef) -> str:
        f = self.schema.resolve(node.name)
        assert f is not None
        period: str | None = None
        if node.period is not None:
            periods = resolve(node.period, self.as_of)
            period = self._binding[id(node.period)] if isinstance(node.period, ast.PeriodRange) else periods[0]
        self.requirements.fields.add((f.id, period))
        return frame.field_column(f.id, period)

    # -- conditions ---------------------------------------------------------------------
    def condition(self, node: ast.Node) -> pl.Expr:
        done = self.known.get(id(node))
        if done is not None:
            self.requirements.update(done[1])
            return done[0]
        if isinstance(node, ast.Bool):
            return lit(node.value, dtype=pl.Boolean)
        if isinstance(node, ast.FieldRef):
            return self.col(self._column(node))
        if isinstance(node, ast.Not):
            return ~self.condition(node.operand)
        if isinstance(node, ast.BoolOp):
            parts = [self.condition(i) for i in node.items]
            out = parts[0]
            for p in parts[1:]:
                out = (out & p) if node.op == "and" else (out | p)
            return out
        if isinstance(node, ast.Compare):
            return self._compare(node)
        if isinstance(node, ast.In):
            return self._in(node)
        if isinstance(node, ast.If):
            return self._if(node.cond, self.condition(node.then), self.condition(node.else_))
        if isinstance(node, ast.Call):
            return self._call_expr(node)
        raise ExpressionError(f"无法作为条件计算：{node.text}", line=node.span.line, column=node.span.column)

    def _if(self, cond: ast.Node, then: pl.Expr, else_: pl.Expr) -> pl.Expr:
        c = self.condition(cond)
        return pl.when(c.is_null()).then(null_value()).when(c).then(then).otherwise(else_)

    def _compare(self, node: ast.Compare) -> pl.Expr:
        op = node.op
        if not self.is_numeric(node.left):
            left, right = self.value(node.left), self.value(node.right)
            if not left.meta.root_names() and right.meta.root_names():   # constant first: see below
                return _OPS[_FLIP[op]](right, left)
            return _OPS[op](left, right)
        a, b = self.num(node.left), self.num(node.right)
        if a.const is not None and b.const is not None:
            return lit(bool(_OPS_F[op](a.const, b.const)), dtype=pl.Boolean)
        if b.const is not None and b.scale > a.scale:
            return _compare_const(a, op, b.const)
        if a.const is not None and a.scale > b.scale:
            return _compare_const(b, _FLIP[op], a.const)
        s = max(a.scale, b.scale)
        if b.const is not None:
            return _OPS[op](a.at(s), lit(int(b.const * 10**s)))
        left = lit(int(a.const * 10**s)) if a.const is not None else a.at(s)
        right = b.at(s)
        if not left.meta.root_names() and right.meta.root_names():
            # the column side first: Polars 2.1 can evaluate `literal <= when/then(categorical …)`
            # to a single value instead of one per row (a ShapeError later); `expr >= literal` not
            return _OPS[_FLIP[op]](right, left)
        return _OPS[op](left, right)

    def _in(self, node: ast.In) -> pl.Expr:
        if self.is_numeric(node.left):
            x = self.num(node.left)
            consts = [self.num(i).const for i in node.items.items]
            if any(c is None for c in consts):
                raise ExpressionError("in 的列表只能包含常量", line=node.span.line, column=node.span.column)
            values = [int(c * 10**x.scale) for c in consts
                      if c is not None and (c * 10**x.scale).denominator == 1]
            assert x.expr is not None
            col = x.expr
            out = col.is_in(members(tuple(values), pl.Int64))
        else:
            col = self.value(node.left)
            values_s = [i.value for i in node.items.items if isinstance(i, ast.Str)]
            out = col.is_in(members(tuple(values_s), pl.String))
        return ~out if node.negated else out  # is_in keeps null for null: Kleene

    # -- numbers ------------------------------------------------------------------------
    def num(self, node: ast.Node) -> Numeric:
        if isinstance(node, ast.Num):
            return const(node.value)
        if isinstance(node, ast.FieldRef):
            f = self.schema.resolve(node.name)
            assert f is not None
            name = self._column(node)
            return Numeric(self.col(name), f.numeric_scale, bound=self.bounds.get(name))
        if isinstance(node, ast.Neg):
            x = self.num(node.operand)
            if x.const is not None:
                return const(-x.const)
            assert x.expr is not None
            return Numeric(-x.expr.cast(int_type(x.bound)), x.scale, bound=x.bound)
        if isinstance(node, ast.Arith):
            return self.arith(node.op, self.num(node.left), self.num(node.right))
        if isinstance(node, ast.If):
            a, b = self.num(node.then), self.num(node.else_)
            return self.choice(a, b, lambda x, y: self._if(node.cond, x, y))
        if isinstance(node, ast.Call):
            out = FUNCTIONS[node.name].polars(self, node)
            assert isinstance(out, Numeric), node.name
            return out
        raise ExpressionError(f"无法作为数值计算：{node.text}", line=node.span.line, column=node.span.column)

    @staticmethod
    def choice(a: Numeric, b: Numeric, combine: Callable[[pl.Expr, pl.Expr], pl.Expr]) -> Numeric:
        """A value that is one of a or b (if, coalesce): aligned to one scale and width."""
        s = max(a.scale, b.scale)
        bound = None if a.bound_at(s) is None or b.bound_at(s) is None else max(a.bound_at(s) or 0,
                                                                              b.bound_at(s) or 0)
        dtype = int_type(bound)
        return Numeric(combine(a.at(s).cast(dtype), b.at(s).cast(dtype)), s, bound=bound)

    def arith(self, op: str, a: Numeric, b: Numeric) -> Numeric:
        if a.const is not None and b.const is not None and not (op == "/" and b.const == 0):
            if op == "/":
                from zhida.rules.lang.numbers import round_fraction

                return const(round_fraction(a.const / b.const, DIV_SCALE, "half_even"))
            value = _OPS_F[op](a.const, b.const)
            assert isinstance(value, Fraction)
            return const(value)
        if op in "+-":
            s = max(a.scale, b.scale)
            bound = add_bounds(a.bound_at(s), b.bound_at(s))
            dtype = int_type(bound)
            x, y = a.at(s).cast(dtype), b.at(s).cast(dtype)
            return Numeric(x + y if op == "+" else x - y, s, bound=bound)
        if op == "*":
            if a.const is not None:
                a, b = b, a
            s = a.scale + b.scale
            if b.const is not None and b.const.denominator == 1:
                s = a.scale  # an integer constant keeps the scale
            if s > MAX_SCALE:
                raise ExpressionError("乘法的精度超过 30 位小数", fix="拆分公式或先 round(...)")
            rb = b.bound_at(s - a.scale) if b.const is not None else b.bound
            bound = None if a.bound is None or rb is None else a.bound * rb
            dtype = int_type(bound)
            assert a.expr is not None
            other = (lit(int(b.const * 10 ** (s - a.scale)), dtype=dtype) if b.const is not None
                     else b.at(b.scale).cast(dtype))
            return Numeric(a.expr.cast(dtype) * other, s, bound=bound)
        # division: (a / 10^sa) / (b / 10^sb) at DIV_SCALE, half-even
        if b.const is not None and b.const > 0 and b.const.denominator == 1 and a.scale <= DIV_SCALE:
            # by a positive integer: exact floor-division of the rescaled numerator
            na = a.at(DIV_SCALE)
            nb = a.bound_at(DIV_SCALE)
            return Numeric(round_div_const(na, int(b.const), "half_even", nb), DIV_SCALE,
                           bound=None if nb is None else nb // int(b.const) + 1)
        n = a.at(a.scale).cast(WIDE) * lit(10 ** (b.scale + DIV_SCALE), dtype=WIDE)
        d = b.at(b.scale).cast(WIDE) * lit(10**a.scale, dtype=WIDE)
        return Numeric(round_div(n, d, "half_even"), DIV_SCALE)

    def extreme(self, name: str, parts: list[Numeric]) -> Numeric:
        """min/max that is unknown when any input is unknown. With a constant side it is
        a clip (one node, nulls propagate); otherwise an explicit null check."""
        s = max(p.scale for p in parts)
        consts = [p for p in parts if p.const is not None]
        exprs = [p for p in parts if p.const is None]
        bounds = [p.bound_at(s) for p in parts]
        bound = None if any(b is None for b in bounds) else max(b for b in bounds if b is not None)
        dtype = int_type(bound)
        if len(exprs) == 1:
            edge = min(c.const for c in consts if c.const is not None) if name == "min" else max(
                c.const for c in consts if c.const is not None)
            limit = lit(int(edge * 10**s), dtype=dtype)
            x = exprs[0].at(s).cast(dtype)
            clipped = x.clip(upper_bound=limit) if name == "min" else x.clip(lower_bound=limit)
            return Numeric(clipped, s, bound=bound)
        return Numeric(strict_extreme(name, [p.at(s).cast(dtype) for p in parts]), s, bound=bound)

    def period_items(self, node: ast.Call) -> tuple[list[pl.Expr], int]:
        """An aggregate's argument once per period of its range (a numeric argument as wide
        integers at its scale, which is returned; a condition or value as itself)."""
        arg = node.args[0]
        ranges = [n.period for n in ast.walk(arg)
                  if isinstance(n, ast.FieldRef) and isinstance(n.period, ast.PeriodRange)]
        expanded = [resolve(r, self.as_of) for r in ranges]
        lengths = {len(e) for e in expanded}
        if len(lengths) != 1 or 0 in lengths:
            raise ExpressionError(f"{node.name} 中的期间区间长度不一致或为空",
                                  line=node.span.line, column=node.span.column)
        items: list[pl.Expr] = []
        numeric = self.is_numeric(arg)
        scale = 0
        for i in range(lengths.pop()):
            self._binding = {id(r): e[i] for r, e in zip(ranges, expanded, strict=True)}
            if numeric:
                n = self.num(arg)
                scale = n.scale
                items.append(n.at(n.scale).cast(WIDE))  # sums of many periods: always wide
            else:
                items.append(self.condition(arg) if self.type_of(arg).base == "bool" else self.value(arg))
        self._binding = {}
        return items, scale

    def _call_expr(self, node: ast.Call) -> pl.Expr:
        out = FUNCTIONS[node.name].polars(self, node)
        assert isinstance(out, pl.Expr), node.name
        return out

def _compare_const(x: Numeric, op: str, c: Fraction) -> pl.Expr:
    """Compare an integer column at scale s with a constant that has more decimals: exact."""
    assert x.expr is not None
    scaled = c * 10**x.scale
    floor, ceil = scaled.numerator // scaled.denominator, -((-scaled.numerator) // scaled.denominator)
    e = x.expr
    if op in _OPS and op not in ("==", "!="):
        return _OPS[op](e, lit(ceil if op in (">=", "<") else floor))
    never = pl.when(e.is_null()).then(null_value()).otherwise(lit(False))
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
