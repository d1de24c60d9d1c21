"""A compiled pack as the cache stores it (decision 0006), and back.

Stored: per policy, the ASTs of its expressions, its parameters and enterprise cap; per
compiled clause, its Polars expressions (condition, atoms, raw amounts by bounds) and what it
reads. Not stored: the validated documents (the caller's, rebuilt by the validation the cache
key needs anyway), the schema (the caller's, equal by the key) and type caches (a fresh
`TypeChecker` per policy infers on demand). Atom nodes are found again from the condition.
"""

from __future__ import annotations

import copyreg
import io
import pickle
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from typing import Any

import polars as pl

from zhida.rules.evaluate.clause import CompiledClause, atoms
from zhida.rules.evaluate.engine import CompiledPolicies
from zhida.rules.evaluate.rounding import RawAmount
from zhida.rules.lang import ast, frame
from zhida.rules.lang.params import Parameter
from zhida.rules.lang.schema import Schema
from zhida.rules.lang.typecheck import TypeChecker
from zhida.rules.lang.types import Env
from zhida.rules.model.document import PolicySpec
from zhida.rules.model.policy import Clause, Path_, Policy

FORMAT = 1


@dataclass
class _PolicyParts:
    """What parsing a policy produced, beyond its validated document."""

    expressions: tuple[tuple[ast.Node, ast.Node, ast.Node | None], ...]  # when, amount, cap per clause
    params: Mapping[str, Parameter]
    enterprise_cap: tuple[ast.Node, ast.Node] | None


@dataclass
class _ClauseParts:
    """What compiling a clause produced. Atom nodes are found again from the condition."""

    policy: int  # position in the input
    index: int  # position in the policy's clauses
    order: int
    when: pl.Expr
    atoms: list[tuple[pl.Expr, list[str]]]
    amount_columns: list[str]
    requirements: frame.Requirements
    raw: dict[tuple[tuple[str, int], ...], RawAmount]


@dataclass
class PackState:
    """A compiled pack as stored: everything but the validated documents and the schema."""

    format: int
    policies: list[_PolicyParts]
    clauses: list[_ClauseParts]
    requirements: frame.Requirements
    caps: dict[str, tuple[pl.Expr, pl.Expr]]
    # for packs keyed by their files' bytes: each policy's validated document, content hash
    # and line map (then nothing of the files is read but their bytes)
    documents: list[tuple[PolicySpec, str, dict[Path_, int]]] | None = None


def state_of(policies: Sequence[Policy], compiled: CompiledPolicies, *, documents: bool = False) -> PackState:
    """What to store of a fresh compile of `policies` (with `documents`, their validated
    documents too)."""
    where = {id(c): (i, j) for i, p in enumerate(policies) for j, c in enumerate(p.clauses)}
    clauses = []
    for cc in compiled.clauses:
        i, j = where[id(cc.clause)]
        clauses.append(_ClauseParts(i, j, cc.order, cc.when, [(e, cols) for _node, e, cols in cc.atoms],
                                    cc.amount_columns, cc.requirements, dict(cc._raw_cache)))
    parts = [_PolicyParts(tuple((c.when, c.amount, c.cap) for c in p.clauses), p.params, p.enterprise_cap)
             for p in policies]
    docs = [(p.spec, p.content_hash, dict(p.lines)) for p in policies] if documents else None
    return PackState(FORMAT, parts, clauses, compiled.requirements, compiled.caps, docs)


def restore(state: PackState, items: Sequence[Policy | Mapping[str, Any] | None],
            specs: Sequence[tuple[PolicySpec, str]], sources: Sequence[str], lines: Sequence[Mapping[Path_, int]],
            schema: Schema, as_of: date) -> CompiledPolicies | None:
    """The compiled pack from a cache entry and the caller's policies (None if they do not fit).
    A parsed policy is used as given; the others are rebuilt from their validated document."""
    if len(state.policies) != len(specs):
        return None
    policies: list[Policy] = []
    for item, (spec, digest), parts, source, line_map in zip(items, specs, state.policies, sources, lines,
                                                             strict=True):
        if isinstance(item, Policy):
            policies.append(item)
            continue
        if len(parts.expressions) != len(spec.clauses):
            return None
        clauses = tuple(Clause(c, spec.id, when, amount, cap)
                        for c, (when, amount, cap) in zip(spec.clauses, parts.expressions, strict=True))
        policies.append(Policy(spec, clauses, parts.params, source, digest, line_map, parts.enterprise_cap))
    typers: dict[int, TypeChecker] = {}
    compiled: list[CompiledClause] = []
    for c in state.clauses:
        policy = policies[c.policy]
        clause = policy.clauses[c.index]
        nodes = atoms(clause.when)
        if len(nodes) != len(c.atoms):
            return None
        typer = typers.get(c.policy)
        if typer is None:
            typer = typers[c.policy] = TypeChecker(Env(schema, {k: p.type_base for k, p in policy.params.items()}))
        compiled.append(CompiledClause(
            clause, policy, c.order, c.when, [(n, e, cols) for n, (e, cols) in zip(nodes, c.atoms, strict=True)],
            c.amount_columns, c.requirements, schema, as_of, typer, c.raw))
    skipped = [p for p in policies if not p.in_force(as_of)]
    return CompiledPolicies(schema, as_of, policies, compiled, state.requirements, state.caps, skipped)


class _Pickler(pickle.Pickler):
    """Pickles AST nodes with their state shared: one object per distinct span, number and
    string, so the load creates ~40% fewer objects. The state stays a plain dict, so
    unpickling still runs in C (no Python call per node)."""

    def __init__(self, out: io.BytesIO) -> None:
        super().__init__(out, protocol=5)
        self._shared: dict[tuple[type, object], object] = {}

    def reducer_override(self, obj: object) -> Any:
        if not isinstance(obj, ast.Node):
            return NotImplemented
        state = {k: self._share(v) for k, v in vars(obj).items()}
        return copyreg.__newobj__, (type(obj),), state  # type: ignore[attr-defined]

    def _share(self, value: object) -> object:
        if isinstance(value, (ast.Span, Fraction, str)):
            return self._shared.setdefault((type(value), value), value)
        return value


def dumps(state: PackState) -> bytes:
    out = io.BytesIO()
    _Pickler(out).dump(state)
    return out.getvalue()


def loads(payload: bytes | memoryview) -> PackState | None:
    """The stored pack, or None if the payload is not one of this format."""
    try:
        state = pickle.loads(payload)
    except Exception:  # a payload this code cannot read is no pack
        return None
    return state if isinstance(state, PackState) and state.format == FORMAT else None
