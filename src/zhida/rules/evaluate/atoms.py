"""Conditions of a whole pack over shared atoms, for the batch engine (engine.py).

Clauses of a pack repeat atoms: of the 13,117 comparisons and code tests of the benchmark
pack (bench/rules.py), 5,617 are distinct. The batch engine computes each distinct atom once
per evaluation, as a column, and each clause's condition combines those columns with the
same Kleene `and`, `or` and `not` the compiler uses (compile.Compiler.condition), so the
verdicts are the same as evaluating `CompiledClause.when` itself.

Two atoms are the same when their syntax trees are equal (ast nodes compare by structure,
not by position or spelling) and, if they read a parameter, they belong to the same policy:
a parameter is the only thing an atom's meaning takes from its policy; the schema and the
evaluation date are the pack's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import polars as pl

from zhida.rules.evaluate.bitsets import Membership, membership
from zhida.rules.evaluate.clause import CompiledClause
from zhida.rules.lang import ast


@dataclass(frozen=True)
class SharedConditions:
    """`atoms`: column name → expression of each distinct atom; `conditions`: per clause
    (in order), its condition over those columns; `reads`: per clause, the columns it reads;
    `members`: the atoms that are code-membership tests, which the engine may compute
    without their expression (bitsets.py)."""

    atoms: dict[str, pl.Expr]
    conditions: list[pl.Expr]
    reads: list[tuple[str, ...]]
    members: dict[str, Membership] = field(default_factory=dict)

    def last_use(self, batch_size: int) -> dict[str, int]:
        """The last batch (clauses cut in runs of batch_size) that reads each atom column."""
        last: dict[str, int] = {}
        for i, names in enumerate(self.reads):
            for name in names:
                last[name] = i // batch_size
        return last


def share(clauses: Sequence[CompiledClause]) -> SharedConditions:
    """Name every distinct atom of the clauses and write each condition over those names."""
    names: dict[tuple[ast.Node, str], str] = {}
    atoms: dict[str, pl.Expr] = {}
    tests: dict[str, Membership] = {}
    conditions: list[pl.Expr] = []
    reads: list[tuple[str, ...]] = []
    for c in clauses:
        leaf: dict[int, str] = {}
        for node, expr, _columns in c.atoms:
            key = (node, c.policy.id if _reads_param(node) else "")
            name = names.get(key)
            if name is None:
                name = names[key] = f"__atom{len(names)}"
                atoms[name] = expr
                if (m := membership(node, expr)) is not None:
                    tests[name] = m
            leaf[id(node)] = name
        conditions.append(_combine(c.clause.when, leaf))
        reads.append(tuple(dict.fromkeys(leaf.values())))
    return SharedConditions(atoms, conditions, reads, tests)


def _reads_param(node: ast.Node) -> bool:
    return any(isinstance(n, ast.Call) and n.name == "param" for n in ast.walk(node))


def _combine(node: ast.Node, leaf: dict[int, str]) -> pl.Expr:
    """The condition `node` over atom columns: the and/or/not tree above the atoms
    (clause.atoms), folded left to right as compile.Compiler.condition folds it."""
    name = leaf.get(id(node))
    if name is not None:
        return pl.col(name)
    if isinstance(node, ast.BoolOp):
        parts = [_combine(item, leaf) for item in node.items]
        out = parts[0]
        for p in parts[1:]:
            out = (out & p) if node.op == "and" else (out | p)
        return out
    assert isinstance(node, ast.Not)  # a negated group: clause.atoms descends into it
    return ~_combine(node.operand, leaf)
