"""The rules-benchmark workload of /work/shared/bench-spec.md: enterprises and policy clauses.

Clauses are plain data (`Clause`), rendered into Zhida's rules language by `bench/zhida_io.py`
and into OpenFisca variables by `bench/openfisca_impl.py`. The generator's own acceptance
tests (thresholds, clause rates) are vectorised NumPy over exact integers, and `truth()`
gives the exact expected outcome of every clause, independently of any engine.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction

import numpy as np

from population import CODES, FLAGS, KIND, NUMERIC, SCALE, Population, generate_population

__all__ = ["Clause", "Population", "Workload", "generate_population", "generate_workload"]

CLAUSE_SEED = 4314
SAMPLE_SIZE = 50_000
ATOM_COUNTS, ATOM_COUNT_P = (2, 3, 4, 5, 6), (0.15, 0.30, 0.30, 0.15, 0.10)
KIND_P = {"numeric": 0.55, "code": 0.30, "flag": 0.15}
TARGET_RATE = (0.0055, 0.027)
KEEP_RATE = (0.005, 0.03)
TIER_MULTIPLIERS = ((Decimal(1), Decimal("1.5"), Decimal(2)),
                    (Decimal("0.5"), Decimal(1), Decimal("1.5")),
                    (Decimal(1), Decimal(2), Decimal(3)))
BASES = tuple(v for v in NUMERIC if KIND[v] in ("money", "count"))
_I64_MIN, _I64_MAX = np.iinfo(np.int64).min, np.iinfo(np.int64).max


@dataclass(frozen=True)
class Atom:
    var: str
    op: str                          # ">=", "<=" (numeric), "in" (code), "is" / "not" (flag)
    threshold: Decimal | None = None  # in the field's unit: yuan, persons, fraction
    codes: tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        return {">=": "numeric", "<=": "numeric", "in": "code"}.get(self.op, "flag")


@dataclass(frozen=True)
class Tier:
    var: str
    steps: tuple[Decimal, Decimal]
    multipliers: tuple[Decimal, Decimal, Decimal]


@dataclass(frozen=True)
class Clause:
    """AND of `atoms`, and of the OR of `or_group` when it is not empty."""

    id: str
    atoms: tuple[Atom, ...]
    or_group: tuple[Atom, ...]
    base: str
    rate: Decimal          # fraction of a money base, or yuan per person of a headcount base
    cap: Decimal           # yuan
    tier: Tier | None
    target_rate: float
    rate_achieved: float   # over the population, missing inputs failing their atom

    def all_atoms(self) -> tuple[Atom, ...]:
        return self.atoms + self.or_group


@dataclass
class Workload:
    population: Population
    clauses: list[Clause]
    draws: int             # clauses drawn, kept or not
    sample: np.ndarray     # the rows thresholds were bisected on


def round_sig(x: float, digits: int = 2) -> Decimal:
    if x == 0:
        return Decimal(0)
    d = Decimal(repr(float(x)))
    return d.quantize(Decimal(1).scaleb(d.adjusted() - digits + 1), ROUND_HALF_EVEN).normalize()


def int_bound(var: str, threshold: Decimal, op: str) -> int:
    """The integer-encoded bound equivalent to `var op threshold` (exact)."""
    scaled = Fraction(threshold) * 10 ** SCALE[KIND[var]]
    return math.ceil(scaled) if op == ">=" else math.floor(scaled)


class _Tables:
    """Precomputed arrays the generator evaluates candidate clauses with."""

    def __init__(self, pop: Population, rng: np.random.Generator) -> None:
        self.pop = pop
        self.sample = np.sort(rng.choice(pop.n, min(SAMPLE_SIZE, pop.n), replace=False))
        # Missing filled with an extreme: fill_min fails `>=` and passes `<=`; fill_max the reverse.
        self.fill_min = {v: np.where(pop.missing[v], _I64_MIN, pop.ints[v]) for v in NUMERIC}
        self.fill_max = {v: np.where(pop.missing[v], _I64_MAX, pop.ints[v]) for v in NUMERIC}
        self.sorted: dict[str, np.ndarray] = {}
        self.share: dict[tuple[str, str], np.ndarray] = {}  # share passing a bound at this row
        for v in NUMERIC:
            x = pop.ints[v][self.sample]
            known = ~pop.missing[v][self.sample]
            s = np.sort(x[known])
            self.sorted[v] = s
            ge = (len(s) - np.searchsorted(s, x, "left")) / len(s)
            le = np.searchsorted(s, x, "right") / len(s)
            self.share[v, ">="] = np.where(known, ge, np.inf)
            self.share[v, "<="] = np.where(known, le, np.inf)
        self.zero_inflated = frozenset(v for v in NUMERIC if np.mean(self.sorted[v] == 0) > 0.05)
        self.code_shares = {v: pop.code_shares(v, self.sample) for v in CODES}
        # listing_status (99.5% unlisted) has no set of codes covering 8-60% of firms.
        self.code_vars = tuple(v for v in CODES if self.code_shares[v][
            self.code_shares[v] <= 0.60].sum() >= 0.08)

    def atom_mask(self, atom: Atom, rows: np.ndarray | slice, missing_passes: bool) -> np.ndarray:
        pop = self.pop
        if atom.kind == "numeric":
            bound = int_bound(atom.var, atom.threshold, atom.op)
            if atom.op == ">=":
                x = self.fill_max if missing_passes else self.fill_min
                return x[atom.var][rows] >= bound
            x = self.fill_min if missing_passes else self.fill_max
            return x[atom.var][rows] <= bound
        if atom.kind == "code":
            table = np.isin(np.array(pop.code_values[atom.var]), atom.codes)
            return table[pop.codes[atom.var][rows]]
        flag = pop.flags[atom.var][rows]
        return ~flag if atom.op == "not" else flag

    def clause_mask(self, clause: Clause, rows=slice(None), missing_passes=False) -> np.ndarray:
        ok = np.logical_and.reduce([self.atom_mask(a, rows, missing_passes) for a in clause.atoms])
        if clause.or_group:
            ok &= np.logical_or.reduce(
                [self.atom_mask(a, rows, missing_passes) for a in clause.or_group])
        return ok


def _code_set(rng, shares: np.ndarray, values: tuple[str, ...]) -> tuple[str, ...] | None:
    """A random set of codes covering 8-60% of firms, or None if this variable has none."""
    for _ in range(50):
        target = rng.uniform(0.08, 0.60)
        order = rng.permutation(len(values))
        order = order[shares[order] <= 0.60]
        cum = np.cumsum(shares[order])
        k = int(np.searchsorted(cum, target))
        if k < len(order) and 0.08 <= cum[k] <= 0.60:
            return tuple(sorted(values[i] for i in order[: k + 1]))
    return None


def _draw_atoms(rng, t: _Tables) -> list[tuple[str, str]] | None:
    """(kind, var) for each atom: at least one numeric, no variable twice."""
    n = rng.choice(ATOM_COUNTS, p=ATOM_COUNT_P)
    kinds = list(rng.choice(list(KIND_P), size=n, p=list(KIND_P.values())))
    if "numeric" not in kinds:
        kinds[rng.integers(n)] = "numeric"
    pools = {"numeric": NUMERIC, "code": t.code_vars, "flag": FLAGS}
    out = []
    for kind in KIND_P:  # a fixed order: set order would vary with PYTHONHASHSEED
        k = kinds.count(kind)
        if k > len(pools[kind]):
            return None
        out += [(kind, str(v)) for v in rng.choice(pools[kind], size=k, replace=False)]
    rng.shuffle(out)
    return out


def _draw_clause(rng, t: _Tables, number: int) -> Clause | None:
    drawn = _draw_atoms(rng, t)
    if drawn is None:
        return None
    pop, n_s = t.pop, len(t.sample)
    # Non-numeric atoms are fixed now; numeric ones get (op, w) and a threshold below.
    atoms: list[Atom | tuple[str, str, float]] = []
    for kind, var in drawn:
        if kind == "numeric":
            op = ">=" if var in t.zero_inflated or rng.random() < 0.75 else "<="
            atoms.append((var, op, rng.uniform(0.5, 1.5)))
        elif kind == "code":
            codes = _code_set(rng, t.code_shares[var], pop.code_values[var])
            if codes is None:
                return None
            atoms.append(Atom(var, "in", codes=codes))
        else:
            atoms.append(Atom(var, "not" if rng.random() < 0.1 else "is"))
    group: list[int] = []
    if rng.random() < 0.2:
        size = 3 if len(atoms) >= 4 and rng.random() < 0.25 else 2
        group = sorted(rng.choice(len(atoms), size=size, replace=False).tolist())

    # A row passes numeric atom (v, op, w) at p iff share(v, op)^(1/w) <= p: so the clause's
    # rate is monotone in p, and bisecting for the target rate is taking a quantile of the
    # per-row score (max over AND terms; min within the OR group; inf where a fixed atom fails).
    def score(a) -> np.ndarray:
        if isinstance(a, Atom):
            return np.where(t.atom_mask(a, t.sample, False), 0.0, np.inf)
        var, op, w = a
        return t.share[var, op] ** (1.0 / w)

    terms = [score(a) for i, a in enumerate(atoms) if i not in group]
    if group:
        terms.append(np.minimum.reduce([score(atoms[i]) for i in group]))
    row_score = np.sort(np.maximum.reduce(terms))
    target = math.exp(rng.uniform(math.log(TARGET_RATE[0]), math.log(TARGET_RATE[1])))
    p = min(float(row_score[max(math.ceil(target * n_s) - 1, 0)]), 1.0)

    def threshold(var: str, op: str, w: float) -> Atom:
        s = t.sorted[var]
        k = max(math.ceil(p**w * len(s)), 1)
        value = s[len(s) - k] if op == ">=" else s[k - 1]
        return Atom(var, op, round_sig(value / 10 ** SCALE[KIND[var]]))

    done = [a if isinstance(a, Atom) else threshold(*a) for a in atoms]
    numeric_vars = [a.var for a in done if a.kind == "numeric" and a.var in BASES]
    own = bool(numeric_vars) and rng.random() < 0.5  # half the time a threshold variable
    base = str(rng.choice(numeric_vars if own else BASES))
    if KIND[base] == "money":
        rate = round_sig(math.exp(rng.uniform(math.log(0.005), math.log(0.30))))
    else:
        rate = round_sig(math.exp(rng.uniform(math.log(500), math.log(20_000))))
    cap = round_sig(math.exp(rng.uniform(math.log(50_000), math.log(10_000_000))))
    tier = _draw_tier(rng, t, base) if rng.random() < 0.37 else None
    return Clause(
        id=f"c{number:04d}",
        atoms=tuple(a for i, a in enumerate(done) if i not in group),
        or_group=tuple(done[i] for i in group),
        base=base, rate=rate, cap=cap, tier=tier, target_rate=target, rate_achieved=0.0,
    )


def _draw_tier(rng, t: _Tables, base: str) -> Tier | None:
    candidates = [v for v in NUMERIC if v != base and v not in t.zero_inflated]
    for var in rng.permutation(candidates):
        s = t.sorted[str(var)] / 10 ** SCALE[KIND[str(var)]]
        lo, hi = round_sig(np.median(s)), round_sig(np.quantile(s, 0.9))
        if lo < hi:
            mult = TIER_MULTIPLIERS[rng.integers(len(TIER_MULTIPLIERS))]
            return Tier(str(var), (lo, hi), mult)
    return None


def generate_workload(n_enterprises: int, n_clauses: int,
                      population: Population | None = None) -> Workload:
    pop = population or generate_population(n_enterprises)
    rng = np.random.default_rng(CLAUSE_SEED)
    tables = _Tables(pop, rng)
    kept: list[Clause] = []
    draws = 0
    while len(kept) < n_clauses:
        draws += 1
        clause = _draw_clause(rng, tables, len(kept) + 1)
        if clause is None:
            continue
        rate = float(tables.clause_mask(clause).mean())
        if KEEP_RATE[0] <= rate <= KEEP_RATE[1]:
            kept.append(_with_rate(clause, rate))
    return Workload(pop, kept, draws, tables.sample)


def _with_rate(clause: Clause, rate: float) -> Clause:
    return replace(clause, rate_achieved=rate)


def evaluator(pop: Population) -> _Tables:
    """Exact NumPy evaluation of clauses over `pop` (the generator's own, engine-independent)."""
    return _Tables(pop, np.random.default_rng(CLAUSE_SEED))
