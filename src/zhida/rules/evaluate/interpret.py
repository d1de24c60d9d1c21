"""The reference interpreter: one enterprise, exact Fractions, Kleene logic.

This is an independent implementation of the semantics that compile.py gives Polars; the
property tests hold the two to the same answers. Explanations are built on it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from fractions import Fraction
from typing import Any

from zhida.rules.lang import ast, frame
from zhida.rules.lang.functions import FUNCTIONS
from zhida.rules.lang.numbers import round_fraction
from zhida.rules.lang.params import Parameter
from zhida.rules.lang.periods import resolve
from zhida.rules.lang.scaled import DIV_SCALE
from zhida.rules.lang.schema import Field, Schema
from zhida.rules.lang.typecheck import TypeChecker
from zhida.rules.lang.types import Env

Value = Fraction | bool | date | str | None


class Interpreter:
    """Evaluates type-checked expressions against one frame row (column → raw value).

    `memo` may be shared by the interpreters of many rows evaluated for the same schema and
    date (rowwise.py): it remembers what depends only on an expression node — the frame
    column of a field reference, the values of a literal list — never on a row. Entries are
    keyed by the node's id and hold the node, which keeps the id from being reused."""

    def __init__(self, schema: Schema, params: Mapping[str, Parameter], as_of: date,
                 row: Mapping[str, Any], memo: dict[int, tuple[ast.Node, Any]] | None = None) -> None:
        self.schema = schema
        self.params = params
        self.as_of = as_of
        self.row = row
        self.memo: dict[int, tuple[ast.Node, Any]] = {} if memo is None else memo
        self._binding: dict[int, str] = {}
        self._typer: TypeChecker | None = None

    @property
    def typer(self) -> TypeChecker:
        if self._typer is None:
            self._typer = TypeChecker(Env(self.schema, {k: p.type_base for k, p in self.params.items()}))
        return self._typer

    def column(self, node: ast.FieldRef) -> str:
        return self._field(node)[0]

    def _field(self, node: ast.FieldRef) -> tuple[str, int | None]:
        """The frame column a reference reads, and the decimal scale of its numbers (None:
        not a number)."""
        if isinstance(node.period, ast.PeriodRange):  # bound per step of an aggregate
            f = self.schema.resolve(node.name)
            assert f is not None
            return frame.field_column(f.id, self._binding[id(node.period)]), _scale(f)
        hit = self.memo.get(id(node))
        if hit is not None:
            return hit[1]  # type: ignore[no-any-return]
        f = self.schema.resolve(node.name)
        assert f is not None
        period = None if node.period is None else resolve(node.period, self.as_of)[0]
        found = (frame.field_column(f.id, period), _scale(f))
        self.memo[id(node)] = (node, found)
        return found

    def field_value(self, node: ast.FieldRef) -> Value:
        column, scale = self._field(node)
        raw = self.row.get(column)
        if raw is None or scale is None:
            return raw
        return Fraction(int(raw), 10**scale) if scale else Fraction(int(raw))

    def eval(self, node: ast.Node) -> Value:
        method = _EVAL.get(type(node))
        if method is None:
            if isinstance(node, ast.ListLit):
                raise TypeError("a list is not a value")
            raise TypeError(f"cannot evaluate {node!r}")
        return method(self, node)

    def _literal(self, node: ast.Num | ast.Str | ast.Bool | ast.DateLit) -> Value:
        return node.value

    def _as_of(self, node: ast.AsOf) -> Value:
        return self.as_of

    def _neg(self, node: ast.Neg) -> Value:
        v = self.eval(node.operand)
        return None if v is None else -_num(v)

    def _not(self, node: ast.Not) -> Value:
        v = self.eval(node.operand)
        return None if v is None else not v

    def _bool_op(self, node: ast.BoolOp) -> Value:
        """Kleene and/or: a decisive value (false for and, true for or) wins over unknown.
        Evaluation has no effects, so it stops at the first decisive value."""
        decisive = node.op == "or"
        unknown = False
        for item in node.items:
            v = self.eval(item)
            if v is decisive:
                return decisive
            unknown = unknown or v is None
        return None if unknown else not decisive

    def _arith(self, node: ast.Arith) -> Value:
        return arith(node.op, self.eval(node.left), self.eval(node.right))

    def _compare(self, node: ast.Compare) -> Value:
        a, b = self.eval(node.left), self.eval(node.right)
        if a is None or b is None:
            return None
        return bool(_CMP[node.op](a, b))

    def _in(self, node: ast.In) -> Value:
        x = self.eval(node.left)
        if x is None:
            return None
        hit = self.memo.get(id(node.items))
        if hit is not None:
            values = hit[1]
        else:
            items = node.items.items
            values = [self.eval(i) for i in items]
            if all(isinstance(i, (ast.Num, ast.Str, ast.Bool, ast.DateLit)) for i in items):
                self.memo[id(node.items)] = (node.items, values)  # literals: the same for every row
        found = x in values
        return not found if node.negated else found

    def _if(self, node: ast.If) -> Value:
        c = self.eval(node.cond)
        if c is None:
            return None
        return self.eval(node.then) if c else self.eval(node.else_)

    def _call(self, node: ast.Call) -> Value:
        out: Value = FUNCTIONS[node.name].reference(self, node)
        return out

    def period_values(self, node: ast.Call) -> list[Value]:
        """An aggregate's argument once per period of its range."""
        arg = node.args[0]
        ranges = [n.period for n in ast.walk(arg)
                  if isinstance(n, ast.FieldRef) and isinstance(n.period, ast.PeriodRange)]
        expanded = [resolve(r, self.as_of) for r in ranges]
        values: list[Value] = []
        for i in range(len(expanded[0])):
            self._binding = {id(r): e[i] for r, e in zip(ranges, expanded, strict=True)}
            values.append(self.eval(arg))
        self._binding = {}
        return values

    @staticmethod
    def number(v: Value) -> Fraction:
        return _num(v)

def _scale(f: Field) -> int | None:
    return f.numeric_scale if f.type in ("money", "count", "number", "percent") else None


_EVAL: dict[type[ast.Node], Callable[[Interpreter, Any], Value]] = {
    ast.Num: Interpreter._literal, ast.Str: Interpreter._literal, ast.Bool: Interpreter._literal,
    ast.DateLit: Interpreter._literal, ast.AsOf: Interpreter._as_of, ast.FieldRef: Interpreter.field_value,
    ast.Neg: Interpreter._neg, ast.Not: Interpreter._not, ast.BoolOp: Interpreter._bool_op,
    ast.Arith: Interpreter._arith, ast.Compare: Interpreter._compare, ast.In: Interpreter._in,
    ast.If: Interpreter._if, ast.Call: Interpreter._call,
}


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
