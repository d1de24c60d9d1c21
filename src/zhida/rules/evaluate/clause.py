"""A compiled clause: its condition, atoms and amount as Polars expressions, and the forms
the batch engine (engine.py) and the explanations need of them.

A **near miss** is a pair whose condition is false because exactly one of its atoms
(`atoms`) is false while every other atom is true (none unknown): turning that one fact
around would make the enterprise eligible. Only clauses with at least two atoms that read
data and no negated group (`not (a or b)`, where flipping one atom need not help) can have
near misses, and an atom that reads no data (a date window) must hold. Failing on what was
already paid (`received(…)`, see `settled`) is never a near miss. A near miss carries
the index of its failing atom and the amount the formula gives on the current facts (null
when unknown or negative): an indication, not a promise.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property, reduce

import polars as pl

from zhida.rules.evaluate.compile import Compiler
from zhida.rules.evaluate.rounding import ROUNDING_DIGITS, RawAmount, finish_amount
from zhida.rules.evaluate.vectorised import program
from zhida.rules.lang import ast, frame
from zhida.rules.lang.scaled import const, int_type
from zhida.rules.lang.schema import Schema
from zhida.rules.lang.typecheck import TypeChecker
from zhida.rules.model.facts import frame_schema
from zhida.rules.model.policy import Clause, Policy

FAILED, UNKNOWN = 256, 65536  # near-miss scores (CompiledClause.near_miss_atom): up to 255 atoms


def atoms(node: ast.Node) -> list[ast.Node]:
    """The atomic conditions of a condition: leaves of its and/or tree (a `not` stays with
    its operand when the operand is itself atomic)."""
    if isinstance(node, ast.BoolOp):
        return [a for item in node.items for a in atoms(item)]
    if isinstance(node, ast.Not) and isinstance(node.operand, ast.BoolOp):
        return atoms(node.operand)
    return [node]


_PAID = ("received", "received_amount")
_PURE = ("min", "max", "abs", "round", "floor", "ceil", "param")   # read no fact of the firm's own


def settled(node: ast.Node) -> bool:
    """An atom about money already paid (`received(…)`, negated or not, or a comparison of
    `received_amount(…)` with constants and parameters): the enterprise cannot turn it around,
    so a clause failing on it alone is no near miss ("差一项即可享受")."""
    target = node.operand if isinstance(node, ast.Not) else node
    if isinstance(target, ast.Call) and target.name == "received":
        return True
    inner = list(ast.walk(target))
    calls = [n for n in inner if isinstance(n, ast.Call)]
    return (any(c.name == "received_amount" for c in calls) and not any(isinstance(n, ast.FieldRef) for n in inner)
            and all(c.name in _PAID + _PURE for c in calls))


def monotone(node: ast.Node) -> bool:
    """No negated group: flipping one false atom to true can only help the condition."""
    return not any(isinstance(n, ast.Not) and isinstance(n.operand, ast.BoolOp) for n in ast.walk(node))


@dataclass
class CompiledClause:
    clause: Clause
    policy: Policy
    order: int
    when: pl.Expr
    atoms: list[tuple[ast.Node, pl.Expr, list[str]]]
    amount_columns: list[str]
    requirements: frame.Requirements
    schema: Schema
    as_of: date
    typer: TypeChecker | None = field(default=None, repr=False)
    _raw_cache: dict[tuple[tuple[str, int], ...], RawAmount] = field(default_factory=dict, repr=False)

    @property
    def key(self) -> str:
        return self.clause.key

    def _compiler(self, rows: pl.Series | None, bounds: Mapping[str, int] | None = None) -> Compiler:
        return Compiler(self.schema, self.policy.params, self.as_of, rows, bounds, self.typer)

    def amount_on(self, rows: pl.Series, bounds: Mapping[str, int] | None = None) -> pl.Expr:
        """The finished amount (integer fen) evaluated on the given frame rows only.

        `bounds` (largest magnitude per numeric column) lets the arithmetic stay in Int64
        where it provably cannot overflow; results are identical either way."""
        comp = self._compiler(rows, bounds)
        raw = comp.amount(self.clause.amount)
        cap = comp.amount(self.clause.cap) if self.clause.cap is not None else None
        spec = self.clause.spec.rounding
        out = finish_amount(comp, raw, cap, spec.unit, spec.mode)
        if not self.amount_columns:  # a constant: broadcast it to the rows
            out = pl.repeat(out, pl.lit(rows.len(), dtype=pl.UInt32))
        return out

    @cached_property
    def near_miss_candidate(self) -> bool:
        """Whether this clause can have near misses at all (see the module docstring)."""
        return sum(1 for _, _, cols in self.atoms if cols) >= 2 and monotone(self.clause.when)

    def near_miss_atom(self) -> pl.Expr | None:
        """Per row, the index of the one failing atom of a near miss (Int16), else null;
        None when the clause has no near misses. Reads the verdict column of a batch."""
        if not self.near_miss_candidate:
            return None
        constants = [e for _, e, cols in self.atoms if not cols]
        if not all(pl.select(e.fill_null(False)).item() for e in constants):
            return None
        if len(self.atoms) >= FAILED:
            return None
        # each atom read once: it scores 0 when true, FAILED + its index when false and
        # UNKNOWN when unknown, so the sum is FAILED + i exactly when atom i alone fails
        # (a settled atom scores as if unknown when false: it can never be the one to fix)
        score = reduce(operator.add, [  # a chain of +: faster than sum_horizontal here
            pl.when(e).then(pl.lit(0, pl.Int32)).otherwise(
                pl.lit(UNKNOWN if settled(node) else FAILED + i, pl.Int32)).fill_null(UNKNOWN)
            for i, (node, e, cols) in enumerate(self.atoms) if cols])
        alone = pl.col(self.verdict_column).not_().fill_null(False) & (score >= FAILED) & (score < 2 * FAILED)
        return pl.when(alone).then((score - FAILED).cast(pl.Int16, strict=False))  # other rows: masked

    @property
    def atom_column(self) -> str:
        """The column that holds this clause's near-miss atoms while a batch is evaluated."""
        return f"__atom_{self.order}"

    @property
    def verdict_column(self) -> str:
        """The column that holds this clause's condition while a batch is evaluated."""
        return f"__when_{self.order}"

    def raw_amount(self, bounds: Mapping[str, int]) -> RawAmount:
        """The capped amount before rounding, with how to round it, over the candidate rows
        the batch engine gathers: columns are read as fields of `pl.element()` (compile.py's
        `element` mode), so the expression runs inside `list.eval` (engine.py).

        Compiled once per set of bounds: with the schema's assumed bounds at compile time,
        again only if the data exceed them (then wider integers keep it exact)."""
        key = tuple(sorted((c, bounds[c]) for c in self.amount_columns if c in bounds))
        cached = self._raw_cache.get(key)
        if cached is not None:
            return cached
        comp = Compiler(self.schema, self.policy.params, self.as_of, None, bounds, self.typer, element=True)
        raw = comp.amount(self.clause.amount)
        if self.clause.cap is not None:
            cap = comp.amount(self.clause.cap)
            raw = const(min(raw.const, cap.const)) if raw.const is not None and cap.const is not None else (
                comp.extreme("min", [raw, cap]))
        spec = self.clause.spec.rounding
        digits = ROUNDING_DIGITS[spec.unit]
        bound = raw.bound_at(raw.scale)
        expr = raw.at(raw.scale).cast(int_type(bound))  # Int64 where the bound proves it safe
        # a constant stays one value: list.eval broadcasts it to the rows
        out = RawAmount(expr, raw.scale - digits, spec.mode, 10 ** (2 - digits), bound,
                        tuple(comp.requirements.columns()),
                        program(expr, frame_schema(comp.requirements, self.schema)))
        self._raw_cache[key] = out
        return out

    def missing_on(self, rows: pl.Series) -> pl.Expr:
        """For each given row, the frame columns whose absence left the pair undecided:
        inputs of unknown atoms, and inputs of the amount when the amount is unknown."""
        comp = self._compiler(rows)
        exprs = []
        for node, _expr, cols in self.atoms:
            verdict = comp.predicate(node)
            exprs += [pl.when(verdict.is_null() & comp.col(col).is_null()).then(pl.lit(col)) for col in cols]
        amount = self.amount_on(rows)
        exprs += [pl.when(amount.is_null() & comp.col(col).is_null()).then(pl.lit(col)) for col in self.amount_columns]
        if not exprs:
            return pl.repeat(pl.lit([], dtype=pl.List(pl.String)), pl.lit(rows.len(), dtype=pl.UInt32))
        return pl.concat_list([e.cast(pl.String) for e in exprs]).list.drop_nulls().list.unique(maintain_order=True)
