"""The reference interpreter: one enterprise, exact Fractions, Kleene logic.

This is an independent implementation of the semantics that compile.py gives Polars; the
property tests hold the two to the same answers. Explanations are built on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from fractions import Fraction
from typing import Any

from zhida.rules import ast, frame
from zhida.rules.numbers import round_fraction
from zhida.rules.params import Parameter, lookup
from zhida.rules.periods import resolve
from zhida.rules.scaled import DIV_SCALE
from zhida.rules.schema import Schema
from zhida.rules.types import Env, Typer

Value = Fraction | bool | date | str | None


class Interpreter:
    """Evaluates type-checked expressions against one frame row (column → raw value)."""

    def __init__(self, schema: Schema, params: Mapping[str, Parameter], as_of: date,
                 row: Mapping[str, Any]) -> None:
        self.schema = schema
        self.params = params
        self.as_of = as_of
        self.row = row
        self._binding: dict[int, str] = {}
        self._typer = Typer(Env(schema, {k: p.type_base for k, p in params.items()}))

    def column(self, node: ast.FieldRef) -> str:
        f = self.schema.resolve(node.name)
        assert f is not None
        period = None
        if isinstance(node.period, ast.PeriodRange):
            period = self._binding[id(node.period)]
        elif node.period is not None:
            period = resolve(node.period, self.as_of)[0]
        return frame.field_column(f.id, period)

    def field_value(self, node: ast.FieldRef) -> Value:
        f = self.schema.resolve(node.name)
        assert f is not None
        raw = self.row.get(self.column(node))
        if raw is None:
            return None
        if f.type in ("money", "count", "number", "percent"):
            return Fraction(int(raw), 10**f.numeric_scale)
        return raw  # type: ignore[no-any-return]

    def eval(self, node: ast.Node) -> Value:
        if isinstance(node, (ast.Num, ast.Str, ast.Bool, ast.DateLit)):
            return node.value
        if isinstance(node, ast.AsOf):
            return self.as_of
        if isinstance(node, ast.FieldRef):
            return self.field_value(node)
        if isinstance(node, ast.Neg):
            v = self.eval(node.operand)
            return None if v is None else -_num(v)
        if isinstance(node, ast.Not):
            v = self.eval(node.operand)
            return None if v is None else not v
        if isinstance(node, ast.BoolOp):
            return kleene(node.op, [self.eval(i) for i in node.items])
        if isinstance(node, ast.Arith):
            return arith(node.op, self.eval(node.left), self.eval(node.right))
        if isinstance(node, ast.Compare):
            a, b = self.eval(node.left), self.eval(node.right)
            if a is None or b is None:
                return None
            return bool(_CMP[node.op](a, b))
        if isinstance(node, ast.In):
            x = self.eval(node.left)
            if x is None:
                return None
            found = x in [self.eval(i) for i in node.items.items]
            return not found if node.negated else found
        if isinstance(node, ast.If):
            c = self.eval(node.cond)
            if c is None:
                return None
            return self.eval(node.then) if c else self.eval(node.else_)
        if isinstance(node, ast.ListLit):
            raise TypeError("a list is not a value")
        if isinstance(node, ast.Call):
            return self._call(node)
        raise TypeError(f"cannot evaluate {node!r}")

    def _call(self, node: ast.Call) -> Value:
        name, args = node.name, node.args
        if name in ("sum", "avg", "count") or (name in ("min", "max") and len(args) == 1):
            return self._aggregate(node)
        if name in ("listed", "listed_since", "tagged", "within"):
            arg = args[0]
            assert isinstance(arg, ast.Str)
            column = {"listed": frame.list_column, "listed_since": frame.list_since_column,
                      "tagged": frame.tag_column, "within": frame.zone_column}[name](arg.value)
            found: Value = self.row.get(column)
            return found
        if name in ("min", "max"):
            vals = [self.eval(a) for a in args]
            if any(v is None for v in vals):
                return None
            nums = [_num(v) for v in vals]
            return min(nums) if name == "min" else max(nums)
        if name in ("round", "floor", "ceil"):
            v = self.eval(args[0])
            digits = int(_num(self.eval(args[1]))) if len(args) == 2 else 0
            mode = {"round": "half_up", "floor": "floor", "ceil": "ceil"}[name]
            return None if v is None else round_fraction(_num(v), digits, mode)
        if name == "abs":
            v = self.eval(args[0])
            return None if v is None else abs(_num(v))
        if name == "tier":
            return self._tier(node)
        if name == "year_of":
            d = self.eval(args[0])
            return Fraction(d.year) if isinstance(d, date) else None
        if name == "years_since":
            d = self.eval(args[0])
            if not isinstance(d, date):
                return None
            before = (d.month, d.day) > (self.as_of.month, self.as_of.day)
            return Fraction(self.as_of.year - d.year - int(before))
        if name == "starts_with":
            code = self.eval(args[0])
            if code is None:
                return None
            raw = args[1]
            prefixes = [raw.value] if isinstance(raw, ast.Str) else [
                i.value for i in raw.items if isinstance(i, ast.Str)] if isinstance(raw, ast.ListLit) else []
            return any(str(code).startswith(p) for p in prefixes)
        if name == "known":
            return self.eval(args[0]) is not None
        if name == "coalesce":
            v = self.eval(args[0])
            return self.eval(args[1]) if v is None else v
        if name == "param":
            arg = args[0]
            assert isinstance(arg, ast.Str)
            values = self.params[arg.value].at(self.as_of)
            if values is None:
                return None
            region = self.row.get(self.schema.region_field)
            if region is None and set(values) != {"default"}:
                return None  # the value depends on a region we do not know
            return lookup(values, region if isinstance(region, str) else None)
        raise TypeError(f"unknown function {name}")

    def _tier(self, node: ast.Call) -> Value:
        x = self.eval(node.args[0])
        if x is None:
            return None
        bounds, values = node.args[1], node.args[2]
        assert isinstance(bounds, ast.ListLit) and isinstance(values, ast.ListLit)
        for b, v in zip(bounds.items, values.items, strict=False):
            if _num(x) < _num(self.eval(b)):
                return self.eval(v)
        return self.eval(values.items[-1])

    def _aggregate(self, node: ast.Call) -> Value:
        arg = node.args[0]
        ranges = [n.period for n in ast.walk(arg)
                  if isinstance(n, ast.FieldRef) and isinstance(n.period, ast.PeriodRange)]
        expanded = [resolve(r, self.as_of) for r in ranges]
        values: list[Value] = []
        for i in range(len(expanded[0])):
            self._binding = {id(r): e[i] for r, e in zip(ranges, expanded, strict=True)}
            values.append(self.eval(arg))
        self._binding = {}
        if node.name == "count":
            if self._typer.infer(arg).base == "bool":
                return None if any(v is None for v in values) else Fraction(sum(1 for v in values if v))
            return Fraction(sum(1 for v in values if v is not None))
        if any(v is None for v in values):
            return None
        nums = [_num(v) for v in values]
        if node.name == "sum":
            return sum(nums, Fraction(0))
        if node.name == "avg":
            return round_fraction(sum(nums, Fraction(0)) / len(nums), DIV_SCALE, "half_even")
        return min(nums) if node.name == "min" else max(nums)


def kleene(op: str, values: list[Value]) -> bool | None:
    """Three-valued and/or: a decisive value wins over unknown."""
    decisive = op == "or"
    if any(v is decisive for v in values):
        return decisive
    if any(v is None for v in values):
        return None
    return not decisive


def arith(op: str, a: Value, b: Value) -> Fraction | None:
    if a is None or b is None:
        return None
    x, y = _num(a), _num(b)
    if op == "+":
        return x + y
    if op == "-":
        return x - y
    if op == "*":
        return x * y
    if y == 0:
        return None
    return round_fraction(x / y, DIV_SCALE, "half_even")


def _num(v: Value) -> Fraction:
    if isinstance(v, bool) or not isinstance(v, (Fraction, int)):
        raise TypeError(f"not a number: {v!r}")
    return Fraction(v)


_CMP: dict[str, Any] = {
    ">=": lambda a, b: a >= b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b,
    "<": lambda a, b: a < b, "==": lambda a, b: a == b, "!=": lambda a, b: a != b,
}
