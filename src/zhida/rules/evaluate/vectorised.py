"""Amounts in NumPy: the batch engine's amount expressions, run on a clause's candidate rows
without a Polars query of their own (decision 0024).

The compiler (compile.py, `element` mode) writes every clause's amount before rounding as a
Polars expression over the fields of a gathered row, and the batch engine (engine.py) can run
it inside `list.eval`. That costs a query per clause whatever its few thousand rows: about
0.3 ms, two fifths of an evaluation of 温州's 4,314 clauses (docs/benchmarks.md). A NumPy
operation on the same rows costs a few microseconds.

`program` reads the expression's own tree (`Expr.meta.serialize`) and accepts the small part
of Polars' language that amounts are made of: Int64 arithmetic (+, −, ×, floor division and
remainder by a positive constant), comparisons, Kleene and/or/not, when/then/otherwise,
clip, abs, negation, min/max_horizontal, null tests, fill_null and casts to Int64. It gives
them Polars' semantics, nulls included (a null predicate takes the `otherwise` branch;
`false & null` is false; min_horizontal skips nulls). Anything else — Int128, literals of
other widths, strings, codes, dates, a function it does not know — gives None at compile
time, and that clause keeps `list.eval`. Nothing is decided here: the expression is the
compiler's, and this is a second executor of it, held to Polars on random rules and on every
clause of the pack (tests/unit/rules/test_vectorised.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from zhida.rules.lang.scaled import INT64_SAFE, bump

# A value over n rows: `values` (an array of n, or a scalar for a constant) and `valid`
# (an array of n, or one bool for all rows); values where valid is false are meaningless.
Values = Any
Valid = Any


@dataclass(frozen=True)
class Column:
    """One input column as NumPy, read at a clause's candidate rows (`at`).

    Nulls are a value of the array itself where one is free (Int64's minimum; 2 in the
    uint8 codes of a Boolean column), so that reading a clause's rows is one gather, not
    two; `valid` is kept apart only for an Int64 column that holds its minimum as data."""

    values: np.ndarray
    null: int | None          # the value that stands for null, None: no null in the column
    valid: np.ndarray | None = None
    boolean: bool = False

    @classmethod
    def of(cls, s: pl.Series) -> Column | None:
        """The column, or None when it is neither Int64 nor Boolean (what programs read)."""
        if s.dtype == pl.Boolean:
            return cls(s.cast(pl.UInt8).fill_null(BOOL_NULL).to_numpy(), BOOL_NULL if s.null_count() else None,
                       boolean=True)
        if s.dtype != pl.Int64:
            return None
        if not s.null_count():
            return cls(s.to_numpy(), None)
        if s.min() != INT64_NULL:
            return cls(s.fill_null(INT64_NULL).to_numpy(), INT64_NULL)
        return cls(s.fill_null(0).to_numpy(), None, s.is_not_null().to_numpy())

    def at(self, index: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """(values, validity or None when all are known) at the given rows."""
        values = self.values[index]
        valid = None if self.null is None else values != self.null
        if self.valid is not None:
            valid = self.valid[index]
        return (values == 1 if self.boolean else values), valid


INT64_NULL = -(2**63)
BOOL_NULL = 2


@dataclass(frozen=True)
class Result:
    """A program's Int64 values over the rows it was given, with their validity."""

    values: np.ndarray
    valid: np.ndarray


# An evaluation node: given the inputs read at the rows, (values, valid) of its result.
Node = Callable[[Mapping[str, tuple[np.ndarray, np.ndarray | None]]], tuple[Values, Valid]]

INT, DYN, BOOL, NULL = "int", "dyn", "bool", "null"   # Int64; an untyped integer literal; Boolean; null
KINDS: dict[pl.DataType, str] = {pl.Int64(): INT, pl.Boolean(): BOOL}   # the column types programs read


class Unsupported(Exception):
    """The expression uses something a program does not run (the clause keeps list.eval)."""


class Program:
    """An amount expression, runnable on NumPy columns. `fields`: the frame columns it reads,
    with the type it was built for (the engine checks the frame has them).

    It pickles as the expression's tree (the pack cache stores compiled packs, packs/), and
    builds its closures again on first use after loading."""

    def __init__(self, tree: Any, fields: Mapping[str, pl.DataType], run: Node | None = None) -> None:
        self.tree = tree
        self.fields = dict(fields)
        self._run = run

    def __call__(self, inputs: Mapping[str, tuple[np.ndarray, np.ndarray | None]], n: int) -> Result:
        if self._run is None:
            self._run = _Builder(self.fields, {}).node(self.tree)[0]
        values, valid = self._run(inputs)
        values = np.broadcast_to(np.asarray(values, dtype=np.int64), (n,))
        valid = np.broadcast_to(np.asarray(valid, dtype=bool), (n,))
        return Result(values, valid)

    def __getstate__(self) -> dict[str, Any]:
        return {"tree": self.tree, "fields": self.fields}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.tree, self.fields, self._run = state["tree"], state["fields"], None


def program(expr: pl.Expr, dtypes: Mapping[str, pl.DataType]) -> Program | None:
    """The NumPy form of an element-mode amount expression whose fields have the given frame
    types, or None when it uses anything outside the supported part (module docstring)."""
    fields: dict[str, pl.DataType] = {}
    tree = json.loads(expr.meta.serialize(format="json"))
    try:
        run, kind = _Builder(dtypes, fields).node(tree)
    except Unsupported:
        return None
    if kind != INT:
        return None
    return Program(tree, fields, run)


# -- building ------------------------------------------------------------------------------

class _Builder:
    """Turns a serialized expression into a tree of NumPy closures, checking kinds on the way."""

    def __init__(self, dtypes: Mapping[str, pl.DataType], fields: dict[str, pl.DataType]) -> None:
        self.dtypes = dtypes
        self.fields = fields

    def node(self, tree: Any) -> tuple[Node, str]:
        if not isinstance(tree, dict) or len(tree) != 1:
            raise Unsupported(str(tree)[:80])
        (kind, body), = tree.items()
        if kind == "Literal":
            return _literal(body)
        if kind == "Cast":
            return self.cast(body)
        if kind == "BinaryExpr":
            return self.binary(body)
        if kind == "Ternary":
            return self.ternary(body)
        if kind == "Function":
            return self.function(body)
        raise Unsupported(kind)

    def cast(self, body: Any) -> tuple[Node, str]:
        if body.get("dtype") != {"Literal": "Int64"}:
            raise Unsupported(f"cast to {body.get('dtype')}")
        run, kind = self.node(body["expr"])
        if kind in (INT, DYN, NULL):
            return run, INT
        if kind == BOOL:
            return _unary(lambda v: np.asarray(v).astype(np.int64), run), INT
        raise Unsupported(kind)

    def binary(self, body: Any) -> tuple[Node, str]:
        op = body["op"]
        left, lk = self.node(body["left"])
        right, rk = self.node(body["right"])
        if op in ("And", "Or"):
            if lk != BOOL or rk != BOOL:
                raise Unsupported(f"{op} of {lk}, {rk}")
            return (_and if op == "And" else _or)(left, right), BOOL
        if NULL in (lk, rk) or BOOL in (lk, rk):
            raise Unsupported(f"{op} of {lk}, {rk}")
        if op in _COMPARE:
            return _elementwise(_COMPARE[op], left, right), BOOL
        if lk == DYN and rk == DYN:   # Polars would compute in Int32: not worth following
            raise Unsupported(f"{op} of two literals")
        if op in _ARITH:
            return _elementwise(_ARITH[op], left, right), INT
        if op in ("FloorDivide", "Modulus"):
            divisor = _positive_constant(body["right"])
            fn = np.floor_divide if op == "FloorDivide" else np.remainder
            return _unary(lambda a: fn(a, divisor), left), INT
        raise Unsupported(op)

    def ternary(self, body: Any) -> tuple[Node, str]:
        pred, pk = self.node(body["predicate"])
        then, tk = self.node(body["truthy"])
        other, ok = self.node(body["falsy"])
        kinds = {tk, ok} - {NULL}
        if pk != BOOL or len(kinds) != 1:
            raise Unsupported(f"when {pk} then {tk} otherwise {ok}")
        return _choose(pred, then, other), kinds.pop()

    def function(self, body: Any) -> tuple[Node, str]:
        fn, args = body["function"], body["input"]
        if isinstance(fn, dict) and isinstance(fn.get("StructExpr"), dict) and "FieldByName" in fn["StructExpr"]:
            return self.field(fn["StructExpr"]["FieldByName"], args)
        parts = [self.node(a) for a in args]
        kinds = [k for _, k in parts]
        runs = [r for r, _ in parts]
        boolean = fn.get("Boolean") if isinstance(fn, dict) else None
        if fn in ("Negate", "Abs") and kinds == [INT]:
            return _unary(np.negative if fn == "Negate" else np.abs, runs[0]), INT
        if isinstance(fn, dict) and "Clip" in fn and kinds[0] == INT:
            return _clip(fn["Clip"], runs[0], [_constant(a) for a in args[1:]]), INT
        if fn in ("MinHorizontal", "MaxHorizontal") and set(kinds) == {INT}:
            return _extreme(np.minimum if fn == "MinHorizontal" else np.maximum, runs), INT
        if fn == "FillNull" and len(args) == 2 and kinds[0] in (INT, BOOL):
            return _fill_null(runs[0], _constant(args[1])), kinds[0]
        if boolean in ("IsNull", "IsNotNull") and len(kinds) == 1 and kinds[0] in (INT, BOOL):
            return _null_test(runs[0], boolean == "IsNull"), BOOL
        if boolean == "Not" and kinds == [BOOL]:
            return _unary(np.logical_not, runs[0]), BOOL
        if boolean in ("AnyHorizontal", "AllHorizontal") and set(kinds) == {BOOL}:
            combine = _or if boolean == "AnyHorizontal" else _and
            out = runs[0]
            for r in runs[1:]:
                out = combine(out, r)
            return out, BOOL
        raise Unsupported(f"function {str(fn)[:80]} of {kinds}")

    def field(self, name: str, args: Any) -> tuple[Node, str]:
        dtype = self.dtypes.get(name)
        if args != ["Element"] or dtype not in KINDS:
            raise Unsupported(f"field {name} of {args} ({dtype})")
        self.fields[name] = dtype
        return _field(name), KINDS[dtype]


def _literal(body: Any) -> tuple[Node, str]:
    if isinstance(body, dict) and isinstance(body.get("Dyn"), dict) and set(body["Dyn"]) == {"Int"}:
        value = int(body["Dyn"]["Int"])
        return _const(value, True), DYN
    scalar = body.get("Scalar") if isinstance(body, dict) else None
    if not isinstance(scalar, dict) or len(scalar) != 1:
        raise Unsupported(f"literal {str(body)[:80]}")
    (dtype, value), = scalar.items()
    if dtype == "Int64":
        return _const(int(value), True), INT
    if dtype == "Boolean":
        return _const(bool(value), True), BOOL
    if dtype == "Null":
        return _const(0, False), NULL
    raise Unsupported(f"literal of {dtype}")


def _const(value: int | bool, valid: bool) -> Node:
    return lambda _inputs: (value, valid)


_ARITH: dict[str, Callable[[Any, Any], Any]] = {
    "Plus": np.add, "Minus": np.subtract, "Multiply": np.multiply,
}
_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "Lt": np.less, "LtEq": np.less_equal, "Gt": np.greater, "GtEq": np.greater_equal,
    "Eq": np.equal, "NotEq": np.not_equal,
}


def _positive_constant(tree: Any) -> int:
    """The value of a positive integer literal (a divisor), else Unsupported."""
    value = _constant(tree)
    if isinstance(value, bool) or value <= 0:
        raise Unsupported("division by something other than a positive constant")
    return value


def _elementwise(fn: Callable[[Any, Any], Any], left: Node, right: Node) -> Node:
    def run(inputs: Any) -> tuple[Values, Valid]:
        a, va = left(inputs)
        b, vb = right(inputs)
        return fn(a, b), _both(va, vb)
    return run


def _both(va: Valid, vb: Valid) -> Valid:
    if va is True:
        return vb
    if vb is True:
        return va
    return np.logical_and(va, vb)


def _and(left: Node, right: Node) -> Node:
    """Kleene and: false wins over unknown."""
    def run(inputs: Any) -> tuple[Values, Valid]:
        a, va = left(inputs)
        b, vb = right(inputs)
        value = np.logical_and(a, b)
        if va is True and vb is True:
            return value, True
        known_false = np.logical_or(np.logical_and(va, np.logical_not(a)), np.logical_and(vb, np.logical_not(b)))
        return value, np.logical_or(_both(va, vb), known_false)
    return run


def _or(left: Node, right: Node) -> Node:
    """Kleene or: true wins over unknown."""
    def run(inputs: Any) -> tuple[Values, Valid]:
        a, va = left(inputs)
        b, vb = right(inputs)
        value = np.logical_or(np.logical_and(a, va), np.logical_and(b, vb))
        if va is True and vb is True:
            return value, True
        return value, np.logical_or(_both(va, vb), value)
    return run


def _field(name: str) -> Node:
    def run(inputs: Any) -> tuple[Values, Valid]:
        values, valid = inputs[name]
        return values, True if valid is None else valid
    return run


def _unary(fn: Callable[[Any], Any], arg: Node) -> Node:
    def run(inputs: Any) -> tuple[Values, Valid]:
        v, ok = arg(inputs)
        return fn(v), ok
    return run


def _constant(tree: Any) -> int | bool:
    """The value of a non-null Int64, untyped integer or Boolean literal, else Unsupported."""
    body = tree.get("Literal") if isinstance(tree, dict) and len(tree) == 1 else None
    if body is None:
        raise Unsupported(f"not a constant: {str(tree)[:80]}")
    run, kind = _literal(body)
    value, valid = run({})
    if kind == NULL or valid is not True:
        raise Unsupported("a null constant")
    return bool(value) if kind == BOOL else int(value)


def _choose(pred: Node, then: Node, other: Node) -> Node:
    """when/then/otherwise: an unknown predicate takes the otherwise branch, as in Polars."""
    def run(inputs: Any) -> tuple[Values, Valid]:
        p, vp = pred(inputs)
        chosen = np.logical_and(p, vp)
        a, va = then(inputs)
        b, vb = other(inputs)
        return np.where(chosen, a, b), np.where(chosen, va, vb)
    return run


def _clip(spec: Mapping[str, bool], arg: Node, bounds: list[int | bool]) -> Node:
    lower = bounds.pop(0) if spec.get("has_min") else None
    upper = bounds.pop(0) if spec.get("has_max") else None

    def run(inputs: Any) -> tuple[Values, Valid]:
        v, ok = arg(inputs)
        if lower is not None:
            v = np.maximum(v, lower)
        if upper is not None:
            v = np.minimum(v, upper)
        return v, ok
    return run


def _extreme(fn: Callable[[Any, Any], Any], parts: list[Node]) -> Node:
    """min/max_horizontal: over the known values; unknown only when every value is."""
    def run(inputs: Any) -> tuple[Values, Valid]:
        items = [p(inputs) for p in parts]
        values, valid = items[0]
        for v, ok in items[1:]:
            if valid is True and ok is True:
                values = fn(values, v)
            else:
                values = np.where(np.logical_and(valid, ok), fn(values, v), np.where(ok, v, values))
                valid = np.logical_or(valid, ok)
        return values, valid
    return run


def _fill_null(arg: Node, value: int | bool) -> Node:
    def run(inputs: Any) -> tuple[Values, Valid]:
        v, ok = arg(inputs)
        return (v if ok is True else np.where(ok, v, value)), True
    return run


def _null_test(arg: Node, null: bool) -> Node:
    def run(inputs: Any) -> tuple[Values, Valid]:
        _, ok = arg(inputs)
        return (np.logical_not(ok) if null else ok), True
    return run


# -- rounding ------------------------------------------------------------------------------

def round_fen(values: np.ndarray, up: int, div: int, mode: str, factor: int) -> np.ndarray:
    """values × up / div rounded by `mode` to an integer, times `factor`: rounding.round_long
    for one clause, in Int64 (the caller has proved that nothing overflows: `fits`)."""
    n: np.ndarray = values * up if up != 1 else values
    if div == 1:
        return n * factor if factor != 1 else n
    q: np.ndarray = np.floor_divide(n, div)
    if mode == "floor":
        return q * factor
    out: np.ndarray = (q + bump(n, q, n - q * div, div, mode)) * factor
    return out


def fits(bound: int | None, up: int, div: int, factor: int) -> bool:
    """Whether an amount whose magnitude is at most `bound` rounds in Int64 without overflow
    (every intermediate of round_fen below INT64_SAFE)."""
    return bound is not None and 2 * bound * up < INT64_SAFE and (bound * up // div + 1) * factor < INT64_SAFE
