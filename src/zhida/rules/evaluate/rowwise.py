"""A few enterprises against every clause, with the reference interpreter.

For a handful of rows the batch path costs what planning its Polars expressions costs —
about a second for 4,314 clauses, whatever the number of rows — while the interpreter
(interpret.py) decides one enterprise against the same clauses in tens of milliseconds.
`evaluate_rows` gives what `CompiledPolicies.evaluate` gives for the same frame: the same
columns, the same order (by clause, then row), statuses, amounts and near-miss atoms, before
the shared post-processing (exclusivity, per-enterprise caps). The property tests hold the
two paths equal on random rules and data (tests/unit/rules/test_properties.py).
"""

from __future__ import annotations

from collections.abc import Collection
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import polars as pl

from zhida.rules.evaluate.allocate import STATUS
from zhida.rules.evaluate.clause import settled
from zhida.rules.evaluate.interpret import Interpreter
from zhida.rules.evaluate.rounding import ROUNDING_DIGITS
from zhida.rules.lang.numbers import round_fraction
from zhida.rules.model.policy import Clause

if TYPE_CHECKING:
    from zhida.rules.evaluate.clause import CompiledClause
    from zhida.rules.evaluate.engine import CompiledPolicies

ROWWISE_MAX = 16  # frames of at most this many rows are evaluated row by row ("auto")


def clause_amount(interp: Interpreter, clause: Clause) -> int | None:
    """The clause's amount for the interpreter's row: the formula, capped, rounded to the
    clause's unit, in integer fen; None when an input is missing."""
    v = interp.eval(clause.amount)
    if clause.cap is not None:
        cap = interp.eval(clause.cap)
        v = None if v is None or cap is None else min(Fraction(v), Fraction(cap))  # type: ignore[arg-type]
    if v is None:
        return None
    rounding = clause.spec.rounding
    rounded = round_fraction(Fraction(v), ROUNDING_DIGITS[rounding.unit], rounding.mode)  # type: ignore[arg-type]
    return int(rounded * 100)


def near_miss_atom(interp: Interpreter, c: CompiledClause) -> int | None:
    """The index of the one failing atom when exactly one atom that reads data is false and
    every other atom is true (engine.CompiledClause.near_miss_atom, for one row)."""
    failing = None
    for i, (node, _expr, columns) in enumerate(c.atoms):
        v = interp.eval(node)
        if v is True:
            continue
        if v is None or not columns or failing is not None or settled(node):
            return None  # unknown, a closed date window, a second failing atom, or money already paid
        failing = i
    return failing


def evaluate_rows(compiled: CompiledPolicies, df: pl.DataFrame, near: Collection[int]) -> pl.DataFrame:
    """Sparse results of every clause over every row of a prepared frame (see the module
    docstring), not yet post-processed. `near`: compile orders of the clauses whose near
    misses are wanted."""
    rows = df.rows(named=True)
    found: dict[str, list[Any]] = {"row": [], "clause": [], "status": [], "amount_fen": [], "atom": []}
    for c in compiled.clauses:
        wants_near = c.order in near and c.near_miss_candidate
        for i, row in enumerate(rows):
            interp = Interpreter(compiled.schema, c.policy.params, compiled.as_of, row, compiled.memo)
            verdict = interp.eval(c.clause.when)
            atom = near_miss_atom(interp, c) if verdict is False and wants_near else None
            if verdict is False and atom is None:
                continue
            amount = clause_amount(interp, c.clause)
            if atom is not None:
                status = "near_miss"
                amount = amount if amount is not None and amount >= 0 else None
            else:
                status = "eligible" if verdict is True and amount is not None else "unknown"
            for column, value in zip(found, (i, c.key, status, amount, atom), strict=True):
                found[column].append(value)
    schema: dict[str, pl.DataType] = {"row": pl.UInt32(), "clause": pl.Enum(compiled.keys), "status": STATUS,
                                      "amount_fen": pl.Int64(), "atom": pl.Int16()}
    out = pl.DataFrame(found, schema=schema)
    return out if near else out.drop("atom")
