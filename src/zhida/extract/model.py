"""What the extractor finds: atoms (field, op, value, period), amount components, clauses."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date
from fractions import Fraction

Value = Fraction | bool | str | tuple[str, ...] | date
LOW = 0.6  # below this an atom or amount is marked 待核对 in the draft


@dataclass
class Atom:
    """One condition: `field op value` over `period`, read from text[span]."""

    field: str                  # registry id, "listed:名单", "tagged:标签" or "received"
    op: str                     # >= <= > < == in
    value: Value
    period: str | None          # rules-language period (last_year, 2022, months(-12..-1)) or None
    span: tuple[int, int]
    confidence: float
    kind: str = "measure"       # measure | list | tag | state | date | received
    notes: list[str] = dataclasses.field(default_factory=list)
    agg: str = "sum"            # how a range of periods is summed up: sum (money) or avg (counts)

    def key(self) -> tuple[object, ...]:
        """What the benchmark compares: a single code is the same as `in [code]`."""
        op, value = self.op, self.value
        if op == "==" and isinstance(value, str) and self.kind == "state":
            op, value = "in", (value,)
        if op == "in" and isinstance(value, tuple):
            value = tuple(sorted(value))
        return (self.field, op, value, self.period)


@dataclass
class Amount:
    """One component of an amount: fixed, rate, base, per_head, count, tier or cap."""

    kind: str
    value: Fraction | str | tuple[Fraction, Fraction]
    span: tuple[int, int]
    confidence: float
    period: str | None = None   # of a base / count / cap field
    fact: str | None = None     # the fact a tier is read from
    notes: list[str] = dataclasses.field(default_factory=list)

    def key(self) -> tuple[object, ...]:
        return (self.kind, self.value)


@dataclass
class DraftClause:
    """A benefit: conditions in conjunctive form (an and of or-groups) and amount components."""

    span: tuple[int, int]
    groups: list[list[Atom]] = dataclasses.field(default_factory=list)
    amounts: list[Amount] = dataclasses.field(default_factory=list)
    notes: list[str] = dataclasses.field(default_factory=list)   # what was seen but not turned into rules

    @property
    def atoms(self) -> list[Atom]:
        return [a for g in self.groups for a in g]


@dataclass
class Draft:
    text: str
    clauses: list[DraftClause]
    header: dict[str, str] = dataclasses.field(default_factory=dict)   # what the text gives of the header

    def atoms(self) -> list[Atom]:
        """Every atom once (an exclusion shared by several clauses counts once)."""
        seen: dict[tuple[object, ...], Atom] = {}
        for c in self.clauses:
            for a in c.atoms:
                seen.setdefault((a.span, *a.key()), a)
        return list(seen.values())

    def amounts(self) -> list[Amount]:
        seen: dict[tuple[object, ...], Amount] = {}
        for c in self.clauses:
            for m in c.amounts:
                seen.setdefault((m.span, *m.key()), m)
        return list(seen.values())

    def low_confidence(self) -> list[Atom | Amount]:
        found: list[Atom | Amount] = [*self.atoms(), *self.amounts()]
        return [x for x in found if x.confidence < LOW]
