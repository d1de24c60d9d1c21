"""Amounts as programs: the batch engine's amount expressions, run on a clause's candidate
rows by a compiled kernel (kernel.py) instead of a Polars query of their own (decisions
0024, 0026).

The compiler (compile.py, `element` mode) writes every clause's amount before rounding as a
Polars expression over the fields of a gathered row, and the batch engine (engine.py) can run
it inside `list.eval`. That costs a query per clause whatever its few thousand rows: about
0.3 ms, two fifths of an evaluation of 温州's 4,314 clauses (docs/benchmarks.md).

`program` reads the expression's own tree (`Expr.meta.serialize`) and accepts the small part
of Polars' language that amounts are made of: Int64 arithmetic (+, −, ×, floor division and
remainder by a positive constant), comparisons, Kleene and/or/not, when/then/otherwise,
clip, abs, negation, min/max_horizontal, null tests, fill_null and casts to Int64. It writes
them as instructions for kernel.py, with Polars' semantics, nulls included (a null predicate
takes the `otherwise` branch; `false & null` is false; min_horizontal skips nulls). Anything
else — Int128, literals of other widths, strings, codes, dates, a function it does not know —
gives None at compile time, and that clause keeps `list.eval`. Nothing is decided here: the
expression is the compiler's, and this is a second executor of it, held to Polars on random
rules and on every clause of the pack (tests/unit/rules/test_vectorised.py).

`run_amounts` runs a batch's programs in one call of the kernel, which releases the GIL: the
workers that evaluate batches (engine.py) compute their amounts at the same time.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from zhida.rules.evaluate import kernel
from zhida.rules.lang.scaled import INT64_SAFE, ROUNDING_MODES

INT64_NULL = kernel.NULL


@dataclass(frozen=True)
class Columns:
    """The frame columns that programs read, as one Int64 matrix (a column per row, so that a
    clause's reads of one column stay in a few pages). Booleans are 0/1. Nulls are NULL where
    the column does not hold NULL as data (`sentinel`), else a row of `validity` says which
    values are known (`validity_row`, −1 for the other columns)."""

    names: dict[str, int]
    data: np.ndarray
    sentinel: np.ndarray
    validity: np.ndarray
    validity_row: np.ndarray

    @classmethod
    def of(cls, df: pl.DataFrame, wanted: Mapping[str, pl.DataType]) -> Columns:
        """The columns of `wanted` that `df` has with the type programs were built for."""
        present = [n for n, t in wanted.items() if n in df.columns and df.schema[n] == t and t in KINDS]
        data = np.empty((len(present), df.height), dtype=np.int64)
        sentinel = np.zeros(len(present), dtype=np.bool_)
        validity_row = np.full(len(present), -1, dtype=np.int64)
        rows: list[np.ndarray] = []
        for k, name in enumerate(present):
            s = df.get_column(name).cast(pl.Int64)
            nulls = s.null_count() > 0
            if nulls and s.min() == INT64_NULL:   # NULL is data here: a validity row of its own
                validity_row[k] = len(rows)
                rows.append(s.is_not_null().to_numpy())
                s = s.fill_null(0)
            elif nulls:
                sentinel[k] = True
                s = s.fill_null(INT64_NULL)
            data[k] = s.to_numpy()
        validity = np.stack(rows) if rows else np.zeros((0, df.height), dtype=np.bool_)
        return cls({n: k for k, n in enumerate(present)}, data, sentinel, validity, validity_row)


@dataclass(frozen=True)
class Result:
    """A program's Int64 values over the rows it was given, with their validity."""

    values: np.ndarray
    valid: np.ndarray


@dataclass(frozen=True)
class Program:
    """An amount expression as kernel instructions (rows of op, dst, a, b, c; the register of
    an instruction's result is its own number), its result register, and the frame columns it
    reads (`fields`: in the order LOAD numbers them, with the type it was built for)."""

    code: np.ndarray
    result: int
    fields: dict[str, pl.DataType] = field(default_factory=dict)

    def evaluate(self, columns: Columns, rows: np.ndarray) -> Result:
        """The values at the given frame rows, not rounded (for tests and one-off use)."""
        amounts, known = run_amounts([self], [(1, 1, ROUNDING_MODES.index("floor"), 1)], columns,
                                     np.asarray(rows, dtype=np.uint32), np.array([len(rows)]))
        return Result(amounts, known)


def run_amounts(programs: Sequence[Program], roundings: Sequence[tuple[int, int, int, int]], columns: Columns,
                index: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rounded amounts of several clauses and whether each is known, in one kernel call.

    Clause p has pairs index[s : s + counts[p]] (frame rows; s: the sum of the counts before
    it), its `programs[p]`, and `roundings[p]`: (up, div, mode, factor) for round_fen (mode: an
    index in ROUNDING_MODES). Every program's fields must be in `columns`."""
    n = len(programs)
    clauses = np.empty((n, 10), dtype=np.int64)
    starts = np.cumsum(counts) - counts
    code_start = fields_start = 0
    fields: list[int] = []
    for p, prog in enumerate(programs):
        up, div, mode, factor = roundings[p]
        clauses[p] = (code_start, code_start + len(prog.code), prog.result, fields_start,
                      starts[p], counts[p], up, div, mode, factor)
        code_start += len(prog.code)
        fields_start += len(prog.fields)
        fields.extend(columns.names[f] for f in prog.fields)
    code = np.concatenate([prog.code for prog in programs]) if n else np.zeros((0, 5), dtype=np.int64)
    total = int(counts.sum())
    amounts, known = np.empty(total, dtype=np.int64), np.empty(total, dtype=np.bool_)
    registers = max((len(prog.code) for prog in programs), default=1)
    index = np.ascontiguousarray(index, dtype=np.uint32)
    if not index.flags.writeable:   # Polars' zero-copy arrays are read-only: Numba types them apart
        index = index.copy()
    if len(index) != total or (total and int(index.max()) >= columns.data.shape[1]):
        # the kernel does not check its reads (boundscheck=False): a wrong row must stop here
        height = columns.data.shape[1]
        raise ValueError(f"{len(index)} rows for {total} pairs, or a row beyond the frame's {height}")
    kernel.run(code, clauses, np.array(fields, dtype=np.int64), index, columns.data, columns.sentinel,
               columns.validity, columns.validity_row, registers, amounts, known)
    return amounts, known


class Unsupported(Exception):
    """The expression uses something a program does not run (the clause keeps list.eval)."""


def program(expr: pl.Expr, dtypes: Mapping[str, pl.DataType]) -> Program | None:
    """The program of an element-mode amount expression whose fields have the given frame
    types, or None when it uses anything outside the supported part (module docstring)."""
    tree = json.loads(expr.meta.serialize(format="json"))
    builder = _Builder(dtypes)
    try:
        result, kind = builder.node(tree)
    except Unsupported:
        return None
    if kind != INT:
        return None
    return Program(np.array(builder.code, dtype=np.int64).reshape(-1, 5), result, builder.fields)


# -- building ------------------------------------------------------------------------------

INT, DYN, BOOL, NULL = "int", "dyn", "bool", "null"   # Int64; an untyped integer literal; Boolean; null
KINDS: dict[pl.DataType, str] = {pl.Int64(): INT, pl.Boolean(): BOOL}   # the column types programs read

_ARITH = {"Plus": kernel.ADD, "Minus": kernel.SUB, "Multiply": kernel.MUL}
_COMPARE = {"Lt": kernel.LT, "LtEq": kernel.LE, "Gt": kernel.GT, "GtEq": kernel.GE, "Eq": kernel.EQ,
            "NotEq": kernel.NE}
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


class _Builder:
    """Writes a serialized expression as instructions, checking kinds on the way."""

    def __init__(self, dtypes: Mapping[str, pl.DataType]) -> None:
        self.dtypes = dtypes
        self.fields: dict[str, pl.DataType] = {}
        self.code: list[tuple[int, int, int, int, int]] = []
        self.loaded: dict[str, int] = {}

    def emit(self, op: int, a: int = 0, b: int = 0, c: int = 0) -> int:
        """Append an instruction; its number is the register of its result."""
        dst = len(self.code)
        self.code.append((op, dst, a, b, c))
        return dst

    def node(self, tree: Any) -> tuple[int, str]:
        if not isinstance(tree, dict) or len(tree) != 1:
            raise Unsupported(str(tree)[:80])
        (kind, body), = tree.items()
        if kind == "Literal":
            value, valid, lk = _literal(body)
            return self.emit(kernel.CONST, value, int(valid)), lk
        if kind == "Cast":
            return self.cast(body)
        if kind == "BinaryExpr":
            return self.binary(body)
        if kind == "Ternary":
            return self.ternary(body)
        if kind == "Function":
            return self.function(body)
        raise Unsupported(kind)

    def cast(self, body: Any) -> tuple[int, str]:
        if body.get("dtype") != {"Literal": "Int64"}:
            raise Unsupported(f"cast to {body.get('dtype')}")
        reg, kind = self.node(body["expr"])
        if kind in (INT, DYN, NULL, BOOL):   # Booleans are 0/1 already
            return reg, INT
        raise Unsupported(kind)

    def binary(self, body: Any) -> tuple[int, str]:
        op = body["op"]
        left, lk = self.node(body["left"])
        right, rk = self.node(body["right"])
        if op in ("And", "Or"):
            if lk != BOOL or rk != BOOL:
                raise Unsupported(f"{op} of {lk}, {rk}")
            return self.emit(kernel.AND if op == "And" else kernel.OR, left, right), BOOL
        if NULL in (lk, rk) or BOOL in (lk, rk):
            raise Unsupported(f"{op} of {lk}, {rk}")
        if op in _COMPARE:
            return self.emit(_COMPARE[op], left, right), BOOL
        if lk == DYN and rk == DYN:   # Polars would compute in Int32: not worth following
            raise Unsupported(f"{op} of two literals")
        if op in _ARITH:
            return self.emit(_ARITH[op], left, right), INT
        if op in ("FloorDivide", "Modulus"):
            divisor = _positive_constant(body["right"])
            assert right == len(self.code) - 1
            del self.code[right]   # the divisor's CONST: an operand of the op instead
            return self.emit(kernel.FLOORDIV if op == "FloorDivide" else kernel.MOD, left, divisor), INT
        raise Unsupported(op)

    def ternary(self, body: Any) -> tuple[int, str]:
        pred, pk = self.node(body["predicate"])
        then, tk = self.node(body["truthy"])
        other, ok = self.node(body["falsy"])
        kinds = {tk, ok} - {NULL}
        if pk != BOOL or len(kinds) != 1:
            raise Unsupported(f"when {pk} then {tk} otherwise {ok}")
        return self.emit(kernel.CHOOSE, pred, then, other), kinds.pop()

    def function(self, body: Any) -> tuple[int, str]:
        fn, args = body["function"], body["input"]
        if isinstance(fn, dict) and isinstance(fn.get("StructExpr"), dict) and "FieldByName" in fn["StructExpr"]:
            return self.field(fn["StructExpr"]["FieldByName"], args)
        if isinstance(fn, dict) and "Clip" in fn:
            return self.clip(fn["Clip"], args)
        if fn == "FillNull" and len(args) == 2:
            reg, kind = self.node(args[0])
            if kind not in (INT, BOOL):
                raise Unsupported(f"fill_null of {kind}")
            return self.emit(kernel.FILL, reg, _constant(args[1])), kind
        parts = [self.node(a) for a in args]
        kinds = [k for _, k in parts]
        regs = [r for r, _ in parts]
        boolean = fn.get("Boolean") if isinstance(fn, dict) else None
        if fn in ("Negate", "Abs") and kinds == [INT]:
            return self.emit(kernel.NEG if fn == "Negate" else kernel.ABS, regs[0]), INT
        if fn in ("MinHorizontal", "MaxHorizontal") and set(kinds) == {INT}:
            return self.fold(kernel.MIN if fn == "MinHorizontal" else kernel.MAX, regs), INT
        if boolean in ("IsNull", "IsNotNull") and len(kinds) == 1 and kinds[0] in (INT, BOOL):
            return self.emit(kernel.IS_NULL if boolean == "IsNull" else kernel.IS_NOT_NULL, regs[0]), BOOL
        if boolean == "Not" and kinds == [BOOL]:
            return self.emit(kernel.NOT, regs[0]), BOOL
        if boolean in ("AnyHorizontal", "AllHorizontal") and set(kinds) == {BOOL}:
            return self.fold(kernel.OR if boolean == "AnyHorizontal" else kernel.AND, regs), BOOL
        raise Unsupported(f"function {str(fn)[:80]} of {kinds}")

    def fold(self, op: int, regs: list[int]) -> int:
        out = regs[0]
        for r in regs[1:]:
            out = self.emit(op, out, r)
        return out

    def clip(self, spec: Mapping[str, bool], args: Any) -> tuple[int, str]:
        reg, kind = self.node(args[0])
        if kind != INT:
            raise Unsupported(f"clip of {kind}")
        bounds = [_constant(a) for a in args[1:]]
        if spec.get("has_min"):
            reg = self.emit(kernel.AT_LEAST, reg, int(bounds.pop(0)))
        if spec.get("has_max"):
            reg = self.emit(kernel.AT_MOST, reg, int(bounds.pop(0)))
        return reg, INT

    def field(self, name: str, args: Any) -> tuple[int, str]:
        dtype = self.dtypes.get(name)
        if args != ["Element"] or dtype not in KINDS:
            raise Unsupported(f"field {name} of {args} ({dtype})")
        if name not in self.loaded:
            number = list(self.fields).index(name) if name in self.fields else len(self.fields)
            self.fields[name] = dtype
            self.loaded[name] = self.emit(kernel.LOAD, number, int(KINDS[dtype] == BOOL))
        return self.loaded[name], KINDS[dtype]


def _literal(body: Any) -> tuple[int, bool, str]:
    """(value, known, kind) of a literal the kernel can hold."""
    if isinstance(body, dict) and isinstance(body.get("Dyn"), dict) and set(body["Dyn"]) == {"Int"}:
        return _int64(int(body["Dyn"]["Int"])), True, DYN
    scalar = body.get("Scalar") if isinstance(body, dict) else None
    if not isinstance(scalar, dict) or len(scalar) != 1:
        raise Unsupported(f"literal {str(body)[:80]}")
    (dtype, value), = scalar.items()
    if dtype == "Int64":
        return _int64(int(value)), True, INT
    if dtype == "Boolean":
        return int(bool(value)), True, BOOL
    if dtype == "Null":
        return 0, False, NULL
    raise Unsupported(f"literal of {dtype}")


def _int64(value: int) -> int:
    if not INT64_MIN <= value <= INT64_MAX:
        raise Unsupported(f"{value} is not an Int64")
    return value


def _constant(tree: Any) -> int:
    """The value of a non-null Int64, untyped integer or Boolean literal (0/1), else Unsupported."""
    return _typed_constant(tree)[0]


def _positive_constant(tree: Any) -> int:
    """The value of a positive integer literal (a divisor), else Unsupported."""
    value, kind = _typed_constant(tree)
    if kind == BOOL or value <= 0:
        raise Unsupported("division by something other than a positive constant")
    return value


def _typed_constant(tree: Any) -> tuple[int, str]:
    body = tree.get("Literal") if isinstance(tree, dict) and len(tree) == 1 else None
    if body is None:
        raise Unsupported(f"not a constant: {str(tree)[:80]}")
    value, valid, kind = _literal(body)
    if kind == NULL or not valid:
        raise Unsupported("a null constant")
    return value, kind


# -- rounding ------------------------------------------------------------------------------

def round_fen(values: np.ndarray, up: int, div: int, mode: str, factor: int) -> np.ndarray:
    """values × up / div rounded by `mode` to an integer, times `factor`: rounding.round_long
    for one clause, in Int64, as the kernel rounds every amount it computes (the caller has
    proved that nothing overflows: `fits`)."""
    values = np.ascontiguousarray(values, dtype=np.int64)
    columns = Columns({"x": 0}, values.reshape(1, -1), np.zeros(1, dtype=np.bool_),
                      np.zeros((0, len(values)), dtype=np.bool_), np.full(1, -1, dtype=np.int64))
    load = Program(np.array([[kernel.LOAD, 0, 0, 0, 0]], dtype=np.int64), 0, {"x": pl.Int64()})
    amounts, _ = run_amounts([load], [(up, div, ROUNDING_MODES.index(mode), factor)], columns,
                             np.arange(len(values), dtype=np.uint32), np.array([len(values)]))
    return amounts


def fits(bound: int | None, up: int, div: int, factor: int) -> bool:
    """Whether an amount whose magnitude is at most `bound` rounds in Int64 without overflow
    (every intermediate of round_fen below INT64_SAFE)."""
    return bound is not None and 2 * bound * up < INT64_SAFE and (bound * up // div + 1) * factor < INT64_SAFE
