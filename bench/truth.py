"""The exact expected outcome of every (enterprise, clause) pair, computed with integer NumPy.

Independent of both engines: it reuses only the generator's own atom evaluation. Two amount
semantics are computed: Zhida's (a missing base or tier input makes the amount unknown) and
the spec's OpenFisca one (a missing base counts as 0, a missing tier input gives the lowest
step), both in exact integer fen, rounded half-up once at the end.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from population import KIND
from workload import Clause, Workload, evaluator, int_bound

ELIGIBLE, UNKNOWN_AMOUNT, UNKNOWN_CONDITION = 1, 2, 3


@dataclass
class Truth:
    """Every pair whose condition is true or unknown, sorted by (clause, row)."""

    clause: np.ndarray      # int32 index into the workload's clauses
    row: np.ndarray         # int32
    status: np.ndarray      # int8: ELIGIBLE, UNKNOWN_AMOUNT (condition true), UNKNOWN_CONDITION
    amount_fen: np.ndarray  # int64, Zhida semantics; -1 where unknown
    amount_fen_zero_filled: np.ndarray  # int64, OpenFisca semantics; -1 where condition unknown

    def keys(self, n: int) -> np.ndarray:
        return self.clause.astype(np.int64) * n + self.row

    def count(self, status: int) -> int:
        return int(np.count_nonzero(self.status == status))


def exact_amounts(c: Clause, w: Workload, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(amount in fen, known) for `rows`: min(max(base × rate, 0), cap) × tier, half-up."""
    pop = w.population
    base = pop.ints[c.base][rows]
    known = ~pop.missing[c.base][rows]
    per_unit = Fraction(c.rate) * (1 if KIND[c.base] == "money" else 100)  # fen per base unit
    num, den = per_unit.numerator, per_unit.denominator
    cap_fen = Fraction(c.cap) * 100
    assert cap_fen.denominator == 1
    raw = np.clip(np.where(known, base, 0) * num, 0, int(cap_fen) * den)  # fen × den
    halves = np.full(len(rows), 2, dtype=np.int64)  # tier multiplier × 2
    if c.tier is not None:
        t = c.tier
        x = pop.ints[t.var][rows]
        tier_known = ~pop.missing[t.var][rows]
        m = [int(v * 2) for v in t.multipliers]
        hi, lo = (int_bound(t.var, s, ">=") for s in reversed(t.steps))
        step = np.where(tier_known, (x >= lo).astype(np.int64) + (x >= hi), 0)
        halves = np.array(m, dtype=np.int64)[step]
        known &= tier_known
    total = raw * halves
    d = den * 2
    return (2 * total + d) // (2 * d), known


def truth(w: Workload) -> Truth:
    ev = evaluator(w.population)
    parts: list[tuple[np.ndarray, ...]] = []
    for i, c in enumerate(w.clauses):
        true = ev.clause_mask(c, missing_passes=False)
        maybe = ev.clause_mask(c, missing_passes=True)
        rows = np.flatnonzero(maybe).astype(np.int32)
        cond_true = true[rows]
        fen, known = exact_amounts(c, w, rows)
        status = np.where(cond_true, np.where(known, ELIGIBLE, UNKNOWN_AMOUNT), UNKNOWN_CONDITION)
        parts.append((np.full(len(rows), i, dtype=np.int32), rows, status.astype(np.int8),
                      np.where(cond_true & known, fen, -1), np.where(cond_true, fen, -1)))
    return Truth(*(np.concatenate(col) for col in zip(*parts, strict=True)))
