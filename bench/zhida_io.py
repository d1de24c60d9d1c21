"""The workload as Zhida sees it: a population frame, a Schema and policy documents."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import polars as pl
import pyarrow as pa

from population import CODES, FLAGS, NUMERIC, SCALE, VARIABLES, Population
from workload import Atom, Clause
from zhida.rules.lang.frame import ID_COLUMN
from zhida.rules.lang.schema import Field, Schema

CLAUSES_PER_POLICY = 50
AS_OF_TEXT = "2025-06-30"


def number(d: Decimal) -> str:
    """A Decimal as a plain literal of the rules language: 2.7E+6 → "2700000"."""
    return format(d.normalize(), "f")


def literal(var: str, value: Decimal) -> str:
    """A value of `var` in the rules language; percents are written with `%`."""
    kind = dict((v, k) for v, _, k in VARIABLES)[var]
    if kind == "percent":
        return number(value * 100) + "%"
    return number(value)


def render_atom(a: Atom) -> str:
    if a.kind == "numeric":
        return f"{a.var} {a.op} {literal(a.var, a.threshold)}"
    if a.kind == "code":
        codes = ", ".join('"' + c + '"' for c in a.codes)
        return f"{a.var} in [{codes}]"
    return f"not {a.var}" if a.op == "not" else a.var


def render_when(c: Clause) -> str:
    parts = [render_atom(a) for a in c.atoms]
    if c.or_group:
        parts.append("(" + " or ".join(render_atom(a) for a in c.or_group) + ")")
    return " and ".join(parts)


def render_amount(c: Clause) -> str:
    kind = dict((v, k) for v, _, k in VARIABLES)[c.base]
    rate = number(c.rate * 100) + "%" if kind == "money" else number(c.rate)
    text = f"min(max({c.base} * {rate}, 0), {number(c.cap)})"
    if c.tier is not None:
        t = c.tier
        steps = ", ".join(literal(t.var, s) for s in t.steps)
        mult = ", ".join(number(m) for m in t.multipliers)
        text += f" * tier({t.var}, [{steps}], [{mult}])"
    return text


def policy_documents(clauses: list[Clause]) -> list[dict]:
    """Policy documents of CLAUSES_PER_POLICY clauses each, in Zhida's policy format."""
    docs = []
    for start in range(0, len(clauses), CLAUSES_PER_POLICY):
        k = start // CLAUSES_PER_POLICY + 1
        docs.append({
            "id": f"bench-{k:04d}", "title": f"基准政策 {k}", "issuer": "基准",
            "document_number": f"BENCH-{k}", "region": "330300",
            "source_url": "https://example.invalid/bench",
            "valid_from": "2020-01-01", "valid_to": "2030-12-31",
            "department": "基准", "budget": "1000亿",
            "clauses": [
                {"id": c.id, "title": f"条款 {c.id[1:]}", "mode": "exempt",
                 "when": render_when(c), "amount": render_amount(c),
                 "rounding": {"unit": "fen", "mode": "half_up"}}
                for c in clauses[start:start + CLAUSES_PER_POLICY]
            ],
        })
    return docs


def clause_keys(clauses: list[Clause]) -> list[str]:
    """"policy_id/clause_id" for each clause, in order (the engine's `clause` column)."""
    return [f"bench-{i // CLAUSES_PER_POLICY + 1:04d}/{c.id}" for i, c in enumerate(clauses)]


def schema(pop: Population) -> Schema:
    fields = []
    for var, label, kind in VARIABLES:
        fields.append(Field(id=var, label=label, type=kind, period="none",
                            scale=SCALE[kind] if kind == "percent" else None,
                            codes=pop.code_values[var] if kind == "code" else None))
    return Schema.build(fields)


def frame(pop: Population) -> pl.DataFrame:
    """The population frame of docs/decisions/0001: exact Int64, String codes, Boolean flags."""
    cols: dict[str, pl.Series] = {
        ID_COLUMN: pl.Series(ID_COLUMN, [f"91330300{i:010d}" for i in range(pop.n)]),
    }
    for v in NUMERIC:
        arr = pa.array(pop.ints[v], type=pa.int64(), mask=pop.missing[v])
        cols[v] = pl.Series(v, arr)
    for v in CODES:
        cols[v] = pl.Series(v, pop.code_values[v], dtype=pl.String).gather(pop.codes[v])
    for v in FLAGS:
        cols[v] = pl.Series(v, np.asarray(pop.flags[v]))
    order = [ID_COLUMN] + [v for v, _, _ in VARIABLES]
    return pl.DataFrame([cols[c] for c in order])
