"""AST → Polars expressions over the population frame (decisions 0001 and 0002).

Numbers compile to integer columns with a static decimal scale, so money is exact.
Conditions compile to Boolean columns whose nulls are Kleene "unknown".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from fractions import Fraction

import polars as pl

from zhida.rules import ast, frame
from zhida.rules.errors import ExpressionError
from zhida.rules.params import Parameter, lookup
from zhida.rules.periods import resolve, window_start
from zhida.rules.scaled import (
    DIV_SCALE,
    MAX_SCALE,
    WIDE,
    Numeric,
    add_bounds,
    const,
    const_scale,
    int_type,
    lit,
    members,
    null_value,
    rescale,
    round_div,
    round_div_const,
)
from zhida.rules.schema import Schema
from zhida.rules.types import Env, T, TypeChecker


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
            return lit(node.value, dtype=pl.String)
        if isinstance(node, ast.DateLit):
            return lit(node.value, dtype=pl.Date)
        if isinstance(node, ast.AsOf):
            return lit(self.as_of, dtype=pl.Date)
        if isinstance(node, ast.FieldRef):
            return self._col(self._column(node))
        if isinstance(node, ast.If):
            return self._if(node.cond, self._value(node.then), self._value(node.else_))
        if isinstance(node, ast.Call):
            if node.name == "listed_since":
                name = self._name_arg(node)
                self.requirements.list_since.add(name)
                return self._col(frame.list_since_column(name))
            if node.name == "coalesce":
                return pl.coalesce(self._value(node.args[0]), self._value(node.args[1]))
        raise ExpressionError(f"无法计算：{node.text}", line=node.span.line, column=node.span.column)

    def _col(self, name: str) -> pl.Expr:
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

    def _name_arg(self, node: ast.Call) -> str:
        arg = node.args[0]
        assert isinstance(arg, ast.Str)
        return arg.value

    # -- conditions ---------------------------------------------------------------------
    def _bool(self, node: ast.Node) -> pl.Expr:
        done = self.known.get(id(node))
        if done is not None:
            self.requirements.update(done[1])
            return done[0]
        if isinstance(node, ast.Bool):
            return lit(node.value, dtype=pl.Boolean)
        if isinstance(node, ast.FieldRef):
            return self._col(self._column(node))
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
                return self._col(frame.list_column(n))
            if name == "tagged":
                n = self._name_arg(node)
                self.requirements.tags.add(n)
                return self._col(frame.tag_column(n))
            if name == "within":
                n = self._name_arg(node)
                self.requirements.zones.add(n)
                return self._col(frame.zone_column(n))
            if name == "starts_with":
                col = self._value(node.args[0])
                raw = node.args[1]
                prefixes = [raw.value] if isinstance(raw, ast.Str) else [
                    i.value for i in raw.items if isinstance(i, ast.Str)] if isinstance(raw, ast.ListLit) else []
                if not prefixes:
                    return pl.when(col.is_null()).then(null_value()).otherwise(lit(False))
                matched = col.cat.starts_with(prefixes[0])
                for prefix in prefixes[1:]:
                    matched = matched | col.cat.starts_with(prefix)
                return matched
            if name == "known":
                arg = node.args[0]
                if self._is_numeric(arg):
                    known = self._num(arg)
                    return lit(True) if known.expr is None else known.expr.is_not_null()
                return self._value(arg).is_not_null()
            if name == "param" or name == "coalesce":
                return self._value(node)
            if name == "received":
                return self._received(node)
        raise ExpressionError(f"无法作为条件计算：{node.text}", line=node.span.line, column=node.span.column)

    def _received(self, node: ast.Call) -> pl.Expr:
        """Unknown when the received-benefits source was not loaded for the row; false when it
        was and holds no payment of the clause on or before `as_of` (closed world, like a
        loaded list); otherwise whether the latest payment falls in the window."""
        key = self._name_arg(node)
        self.requirements.received.add(key)
        ever = self._col(frame.received_column(key))
        within, since = node.kwarg("within"), node.kwarg("since")
        if isinstance(within, ast.Duration):
            start = lit(window_start(within, self.as_of), dtype=pl.Date)
        elif since is not None:
            start = self._value(since)
        else:
            return ever
        inside = self._col(frame.received_on_column(key)) >= start
        return pl.when(ever.is_null()).then(lit(None, dtype=pl.Boolean)).when(~ever).then(
            lit(False, dtype=pl.Boolean)).otherwise(inside)

    def _if(self, cond: ast.Node, then: pl.Expr, else_: pl.Expr) -> pl.Expr:
        c = self._bool(cond)
        return pl.when(c.is_null()).then(null_value()).when(c).then(then).otherwise(else_)

    def _compare(self, node: ast.Compare) -> pl.Expr:
        op = node.op
        if not self._is_numeric(node.left):
            left, right = self._value(node.left), self._value(node.right)
            if not left.meta.root_names() and right.meta.root_names():   # constant first: see below
                return _OPS[_FLIP[op]](right, left)
            return _OPS[op](left, right)
        a, b = self._num(node.left), self._num(node.right)
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
        if self._is_numeric(node.left):
            x = self._num(node.left)
            consts = [self._num(i).const for i in node.items.items]
            if any(c is None for c in consts):
                raise ExpressionError("in 的列表只能包含常量", line=node.span.line, column=node.span.column)
            values = [int(c * 10**x.scale) for c in consts
                      if c is not None and (c * 10**x.scale).denominator == 1]
            assert x.expr is not None
            col = x.expr
            out = col.is_in(members(tuple(values), pl.Int64))
        else:
            col = self._value(node.left)
            values_s = [i.value for i in node.items.items if isinstance(i, ast.Str)]
            out = col.is_in(members(tuple(values_s), pl.String))
        return ~out if node.negated else out  # is_in keeps null for null: Kleene

    # -- numbers ------------------------------------------------------------------------
    def _num(self, node: ast.Node) -> Numeric:
        if isinstance(node, ast.Num):
            return const(node.value)
        if isinstance(node, ast.FieldRef):
            f = self.schema.resolve(node.name)
            assert f is not None
            name = self._column(node)
            return Numeric(self._col(name), f.numeric_scale, bound=self.bounds.get(name))
        if isinstance(node, ast.Neg):
            x = self._num(node.operand)
            if x.const is not None:
                return const(-x.const)
            assert x.expr is not None
            return Numeric(-x.expr.cast(int_type(x.bound)), x.scale, bound=x.bound)
        if isinstance(node, ast.Arith):
            return self._arith(node.op, self._num(node.left), self._num(node.right))
        if isinstance(node, ast.If):
            a, b = self._num(node.then), self._num(node.else_)
            return self._choice(a, b, lambda x, y: self._if(node.cond, x, y))
        if isinstance(node, ast.Call):
            return self._num_call(node)
        raise ExpressionError(f"无法作为数值计算：{node.text}", line=node.span.line, column=node.span.column)

    @staticmethod
    def _choice(a: Numeric, b: Numeric, combine: Callable[[pl.Expr, pl.Expr], pl.Expr]) -> Numeric:
        """A value that is one of a or b (if, coalesce): aligned to one scale and width."""
        s = max(a.scale, b.scale)
        bound = None if a.bound_at(s) is None or b.bound_at(s) is None else max(a.bound_at(s) or 0,
                                                                              b.bound_at(s) or 0)
        dtype = int_type(bound)
        return Numeric(combine(a.at(s).cast(dtype), b.at(s).cast(dtype)), s, bound=bound)

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

    def _extreme(self, name: str, parts: list[Numeric]) -> Numeric:
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
        return Numeric(_strict_horizontal(name, [p.at(s).cast(dtype) for p in parts]), s, bound=bound)

    def _num_call(self, node: ast.Call) -> Numeric:
        name, args = node.name, node.args
        if name in ("sum", "avg", "count") or (name in ("min", "max") and len(args) == 1):
            return self._aggregate(node)
        if name in ("min", "max"):
            parts = [self._num(a) for a in args]
            if all(p.const is not None for p in parts):
                vals = [p.const for p in parts if p.const is not None]
                return const(min(vals) if name == "min" else max(vals))
            return self._extreme(name, parts)
        if name in ("round", "floor", "ceil"):
            digits = int(args[1].value) if len(args) == 2 and isinstance(args[1], ast.Num) else 0
            mode = {"round": "half_up", "floor": "floor", "ceil": "ceil"}[name]
            x = self._num(args[0])
            return Numeric(rescale(x, digits, mode), digits, bound=_rounded_bound(x, digits))
        if name == "abs":
            x = self._num(args[0])
            if x.const is not None:
                return const(abs(x.const))
            assert x.expr is not None
            return Numeric(x.expr.cast(int_type(x.bound)).abs(), x.scale, bound=x.bound)
        if name == "tier":
            return self._tier(node)
        if name == "years_since":
            d = self._value(args[0])
            before = (d.dt.month().cast(pl.Int32) * 100 + d.dt.day().cast(pl.Int32)) > (
                self.as_of.month * 100 + self.as_of.day)
            years = lit(self.as_of.year, dtype=pl.Int64) - d.dt.year().cast(pl.Int64) - before.cast(pl.Int64)
            return Numeric(years, 0, bound=10_000)
        if name == "months_since":
            d = self._value(args[0])
            # whole months: the day of the month not yet reached does not count (interpret.py)
            before = d.dt.day().cast(pl.Int32) > self.as_of.day
            months = (lit(self.as_of.year * 12 + self.as_of.month, dtype=pl.Int64)
                      - d.dt.year().cast(pl.Int64) * 12 - d.dt.month().cast(pl.Int64) - before.cast(pl.Int64))
            return Numeric(months, 0, bound=120_000)
        if name == "year_of":
            return Numeric(self._value(args[0]).dt.year().cast(pl.Int64), 0, bound=10_000)
        if name == "param":
            return self._param(node)
        if name == "coalesce":
            return self._choice(self._num(args[0]), self._num(args[1]), lambda x, y: pl.coalesce(x, y))
        raise ExpressionError(f"无法作为数值计算：{node.text}", line=node.span.line, column=node.span.column)

    def _tier(self, node: ast.Call) -> Numeric:
        x = self._num(node.args[0])
        bounds_node, values_node = node.args[1], node.args[2]
        assert isinstance(bounds_node, ast.ListLit) and isinstance(values_node, ast.ListLit)
        values = [self._num(v) for v in values_node.items]
        s = max(v.scale for v in values)
        vb = [v.bound_at(s) for v in values]
        bound = None if any(b is None for b in vb) else max(b for b in vb if b is not None)
        dtype = int_type(bound)
        thresholds = [self._num(b).const for b in bounds_node.items]
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

    def _param(self, node: ast.Call) -> Numeric:
        p = self.params[self._name_arg(node)]
        values = p.at(self.as_of)
        if values is None:
            return Numeric(lit(None, dtype=pl.Int64), 0, bound=0)
        distinct = set(values.values())
        if len(distinct) == 1 and set(values) == {"default"}:
            return const(next(iter(distinct)))
        s = max(const_scale(v) for v in distinct)
        bound = max(abs(int(v * 10**s)) for v in distinct)
        region = self.schema.region_field
        self.requirements.fields.add((region, None))
        col = self._col(region)
        # Most specific code first: built from the least specific up, as nested otherwise().
        # An enterprise whose region is unknown gets an unknown value (not the default).
        out: pl.Expr = lookup_lit(values, None, s)
        for code in sorted({c for c in values if c != "default"}, key=_specificity):
            prefix = code.rstrip("0") if code.endswith("00") else code
            out = pl.when(col.cat.starts_with(prefix)).then(lookup_lit(values, code, s)).otherwise(out)
        return Numeric(pl.when(col.is_null()).then(lit(None, dtype=pl.Int64)).otherwise(out), s, bound=bound)

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
                items.append(n.at(n.scale).cast(WIDE))  # sums of many periods: always wide
            else:
                items.append(self._bool(arg) if self._type(arg).base == "bool" else self._value(arg))
        self._binding = {}
        name = node.name
        if name == "count":
            if self._type(arg).base == "bool":
                total = pl.sum_horizontal([e.cast(pl.Int64) for e in items])
                return Numeric(pl.when(_any_null(items)).then(null_value()).otherwise(total), 0)
            return Numeric(pl.sum_horizontal([e.is_not_null().cast(pl.Int64) for e in items]), 0)
        if name in ("min", "max"):
            return Numeric(_strict_horizontal(name, items), scale)
        total = pl.when(_any_null(items)).then(null_value()).otherwise(pl.sum_horizontal(items))
        if name == "sum":
            return Numeric(total, scale)
        return self._arith("/", Numeric(total, scale), const(Fraction(len(items))))


def lookup_lit(values: Mapping[str, Fraction], region: str | None, scale: int) -> pl.Expr:
    v = lookup(values, region)
    return lit(None if v is None else int(v * 10**scale), dtype=pl.Int64)


def _rounded_bound(x: Numeric, digits: int) -> int | None:
    if x.bound is None:
        return None
    if digits <= x.scale:
        return int(x.bound // 10 ** (x.scale - digits) + 1)
    return int(x.bound * 10 ** (digits - x.scale))


def _specificity(code: str) -> int:
    return len(code.rstrip("0"))


def _any_null(items: list[pl.Expr]) -> pl.Expr:
    return pl.any_horizontal([e.is_null() for e in items])


def _strict_horizontal(name: str, exprs: list[pl.Expr]) -> pl.Expr:
    """min/max that is unknown when any input is unknown (Polars skips nulls)."""
    agg = pl.min_horizontal(exprs) if name == "min" else pl.max_horizontal(exprs)
    return pl.when(_any_null(exprs)).then(null_value()).otherwise(agg)


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
