"""Which unknown facts can still change a clause's result, and how much each answer decides.

A clause's **verdict** on a row is its status and the amount it pays: (eligible, fen),
(ineligible, None) or (unknown, None). A **completion** gives every unknown fact the clause
reads a value of its type (a frame column, or the columns of one list or one received
source, which are set together). An unknown fact is **relevant** when two completions that
differ only in that fact give different verdicts; only relevant facts are worth asking.

How it is decided, exactly on the candidates it draws:

1. Candidate values per unknown fact: the constants of the clause (and one step either
   side, in the field's resolution), 0, ±1 step, a large value and its negative, the roots of
   every comparison and of every numeric argument of a function against those constants
   (found by secants, which are exact on the language's piecewise-linear arithmetic), and
   for dates the date constants, `as_of`, anniversaries and year ends, each ±1 day; for codes
   the code constants and one code matching none of them.
2. Candidates that give the same values to every largest sub-expression reading only that
   fact are the same to the clause whatever the other facts are: one of each is kept.
3. Every combination of the kept candidates is evaluated by the reference interpreter; a fact
   is relevant when two combinations differing only in it give different verdicts, and that
   pair is kept as its witness. A listed fact therefore always has a witness; a fact left
   out has no witness on any combination of candidates. When the combinations exceed
   `BUDGET`, others are sampled for each fact instead and `exhaustive` is False.

**How much an answer decides**: the share of a fact's kept candidates that, answered alone
(every other fact still unknown), settle the clause (eligible or ineligible); relevant facts
are ordered by it, most deciding first, then as they appear in the clause.
"""

from __future__ import annotations

import calendar
import itertools
import random
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction
from typing import Any

from zhida.rules.evaluate.interpret import Interpreter, Value
from zhida.rules.evaluate.rowwise import clause_amount
from zhida.rules.lang import ast, frame
from zhida.rules.lang.functions import FUNCTIONS
from zhida.rules.lang.params import DEFAULT_REGION, Parameter
from zhida.rules.lang.periods import resolve, window_start
from zhida.rules.lang.schema import NUMERIC_TYPES, Schema
from zhida.rules.model.policy import Clause

BUDGET = 4096                  # combinations evaluated exhaustively; beyond it, sampled
_BIG = Fraction(10**9)
_AGGREGATES = ("sum", "avg", "count")
Verdict = tuple[str, int | None]
Completion = dict[str, Any]    # frame column → raw value


@dataclass(frozen=True)
class Fact:
    """One unknown fact as a questionnaire asks it: `key` is the column answered."""

    key: str
    columns: tuple[str, ...]
    label: str


@dataclass(frozen=True)
class Relevant:
    fact: Fact
    decides: Fraction                         # share of its answers that settle the clause alone
    witness: tuple[Completion, Completion]    # two completions differing only in this fact


@dataclass
class Analysis:
    unknown: list[Fact]                      # every unknown fact the clause reads
    relevant: list[Relevant]                 # those that can change the verdict, most deciding first
    exhaustive: bool = True
    settled: Verdict | None = None           # what every completion gives (every sampled one when
                                             # not exhaustive), when no fact is relevant


def verdict(interp: Interpreter, clause: Clause) -> Verdict:
    when = interp.eval(clause.when)
    if when is False:
        return ("ineligible", None)
    amount = clause_amount(interp, clause)
    return ("eligible", amount) if when is True and amount is not None else ("unknown", None)


def columns_read(node: ast.Node, schema: Schema, as_of: date) -> list[str]:
    """Every frame column a condition or formula reads, in order of appearance."""
    out: list[str] = []
    for n in ast.walk(node):
        if isinstance(n, ast.FieldRef):
            f = schema.resolve(n.name)
            assert f is not None
            periods = resolve(n.period, as_of) if n.period is not None else [None]
            out += [frame.field_column(f.id, p) for p in periods]
        elif isinstance(n, ast.Call):
            out += FUNCTIONS[n.name].reads(n, schema)
    return list(dict.fromkeys(out))


def fact_label(column: str, schema: Schema) -> str:
    kind, _, name = column.partition("@")
    if kind == "list":
        return f"名单“{name}”"
    if kind == "list_since":
        return f"首次列入“{name}”"
    if kind in ("tag", "zone"):
        return f"{'标签' if kind == 'tag' else '区域'}“{name}”"
    if kind == "received":
        return f"已获资金“{name}”"
    if kind == "received_total":
        return f"已获资金“{frame.received_total_parts(column)[0]}”"
    f = schema.fields.get(kind)
    return (f.label if f else kind) + (f"[{name}]" if name else "")


def unknown_facts(columns: Iterable[str], row: Mapping[str, Any], schema: Schema) -> list[Fact]:
    """The unknown facts among the columns read: a list's membership and first date are one
    fact (a member whose date is unknown is asked the date), what was received for a clause is
    one fact (received(…)'s columns and the totals of received_amount(…) together)."""
    cols = list(columns)
    out: list[Fact] = []
    seen: set[str] = set()
    for col in cols:
        kind, _, name = col.partition("@")
        if kind in ("list", "list_since"):
            group = [c for c in (frame.list_column(name), frame.list_since_column(name)) if c in cols]
            member, since = row.get(frame.list_column(name)), row.get(frame.list_since_column(name))
            has_member = frame.list_column(name) in row
            if has_member and member is not None:
                if not (member is True and since is None and frame.list_since_column(name) in cols):
                    continue                                   # known (a member's date too)
                group = [frame.list_since_column(name)]
            elif not has_member and since is not None:
                continue
            key = group[0]
        elif kind in ("received", "received_on", "received_fen", "received_total"):
            clause = frame.received_total_parts(col)[0] if kind == "received_total" else name
            triple = [frame.received_column(clause), frame.received_on_column(clause),
                      frame.received_fen_column(clause)]
            totals = [c for c in cols if c.startswith("received_total@")
                      and frame.received_total_parts(c)[0] == clause]
            group = (triple if any(c in cols for c in triple) else []) + totals
            if any(row.get(c) is not None for c in group):
                continue                                       # the source is loaded for the firm
            key = group[0]
        else:
            if row.get(col) is not None:
                continue
            group, key = [col], col
        if key not in seen:
            seen.add(key)
            out.append(Fact(key, tuple(group), fact_label(key, schema)))
    return out


class _Analyser:
    def __init__(self, schema: Schema, params: Mapping[str, Parameter], as_of: date, clause: Clause,
                 row: Mapping[str, Any], memo: dict[int, tuple[ast.Node, Any]] | None) -> None:
        self.schema, self.params, self.as_of, self.clause = schema, params, as_of, clause
        self.row = row
        self.memo: dict[int, tuple[ast.Node, Any]] = {} if memo is None else memo
        self.roots = [n for n in (clause.when, clause.amount, clause.cap) if n is not None]
        self.reads: dict[int, frozenset[str]] = {}
        self.column_fact: dict[str, str] = {}
        self.nums: set[Fraction] = {Fraction(0)}
        self.dates: set[date] = {as_of}
        self.strs: set[str] = set()
        for root in self.roots:
            self._constants(root)

    # --- evaluation ----------------------------------------------------------------------
    def interp(self, values: Mapping[str, Any]) -> Interpreter:
        row = dict(self.row)
        row.update(values)
        return Interpreter(self.schema, self.params, self.as_of, row, self.memo)

    def value(self, node: ast.Node, values: Mapping[str, Any]) -> Value:
        return self.interp(values).eval(node)

    # --- what each node reads ----------------------------------------------------------
    def node_reads(self, node: ast.Node) -> frozenset[str]:
        hit = self.reads.get(id(node))
        if hit is None:
            own = {self.column_fact[c] for c in columns_read(node, self.schema, self.as_of) if c in self.column_fact}
            hit = frozenset(own)
            self.reads[id(node)] = hit
        return hit

    def subterms(self, fact: str) -> tuple[list[ast.Node], bool]:
        """The largest sub-expressions that read `fact` and no other unknown fact, and
        whether the fact is also read where no such sub-expression can stand alone (inside
        an aggregate over a range that reads other unknown facts)."""
        found: list[ast.Node] = []
        raw = False

        def visit(node: ast.Node, inside_aggregate: bool) -> None:
            nonlocal raw
            reads = self.node_reads(node)
            if fact not in reads:
                return
            if reads == {fact} and not inside_aggregate:
                found.append(node)
                return
            if isinstance(node, ast.FieldRef):
                raw = True
                return
            aggregate = isinstance(node, ast.Call) and (node.name in _AGGREGATES or (
                node.name in ("min", "max") and len(node.args) == 1))
            kids = [c for c in ast.children(node) if fact in self.node_reads(c)]
            if not kids:      # read by the node itself (received(…, since = …), param's region)
                raw = True
            for child in kids:
                visit(child, inside_aggregate or aggregate)

        for root in self.roots:
            visit(root, False)
        return found, raw

    # --- candidate values -----------------------------------------------------------------
    def _constants(self, node: ast.Node) -> None:
        by_month = any(isinstance(n, ast.Call) and n.name == "months_since" for n in ast.walk(node))
        for n in ast.walk(node):
            if isinstance(n, ast.Num):
                self.nums.add(n.value)
            elif isinstance(n, ast.DateLit):
                self.dates.add(n.value)
            elif isinstance(n, ast.Str):
                self.strs.add(n.value)
            elif isinstance(n, ast.Call) and n.name == "param" and isinstance(n.args[0], ast.Str):
                p = self.params.get(n.args[0].value)
                values = p.at(self.as_of) if p is not None else None
                for region, v in (values or {}).items():
                    if isinstance(v, Fraction):
                        self.nums.add(v)
                    if region != DEFAULT_REGION:   # a region with a value of its own: a candidate code
                        self.strs.add(region)
            elif isinstance(n, ast.Call) and n.name == "received":
                within = n.kwarg("within")
                if isinstance(within, ast.Duration):
                    self.dates.add(window_start(within, self.as_of))
        small = [int(k) for k in self.nums if k.denominator == 1 and 0 <= k <= 200]
        for k in (set(small) | {0, 1, 2, 3}) if by_month else ():
            for months in (k, -k):           # months_since flips where as_of's day comes round
                y, m = divmod(self.as_of.year * 12 + self.as_of.month - 1 - months, 12)
                if 1 <= y <= 9998:
                    last = calendar.monthrange(y, m + 1)[1]
                    self.dates.add(date(y, m + 1, min(self.as_of.day, last)))   # ±1 day: both sides
                    self.dates.add(date(y, m + 1, last))                         # and the month's turn
        for k in set(small) | {0, 1, 2, 3}:
            for d in (self._years_before(k), self._years_before(-k)):
                if d is not None:
                    self.dates.add(d)
            for y in (self.as_of.year - k, self.as_of.year + k):
                if 1 <= y <= 9998:
                    self.dates |= {date(y, 1, 1), date(y, 12, 31)}
        for year in self.nums:
            if year.denominator == 1 and 1900 <= year <= 2200:
                self.dates |= {date(int(year), 1, 1), date(int(year), 12, 31)}

    def _years_before(self, k: int) -> date | None:
        try:
            return self.as_of.replace(year=self.as_of.year - k)
        except ValueError:
            try:
                return self.as_of.replace(year=self.as_of.year - k, day=28)
            except ValueError:
                return None

    def candidates(self, fact: Fact) -> list[Completion]:
        kind, _, name = fact.key.partition("@")
        if kind in ("list", "list_since"):
            member_col, since_col = frame.list_column(name), frame.list_since_column(name)
            dates = sorted(self._around(self.dates, lambda d: d <= self.as_of))
            if fact.columns == (since_col,) and self.row.get(member_col) is True:   # a member: only the date
                return [{since_col: d} for d in dates]
            out: list[Completion] = []
            for member, since in [(False, None)] + [(m, d) for d in dates for m in (False, True)]:
                c = {member_col: member, since_col: since}
                out.append({k: v for k, v in c.items() if k in fact.columns})
            return _unique(out)
        if kind in ("received", "received_total"):
            return self._received(fact)
        if kind in ("tag", "zone"):
            return [{fact.key: False}, {fact.key: True}]
        f = self.schema.fields[kind]
        col = fact.key
        if f.type == "bool":
            return [{col: False}, {col: True}]
        if f.type == "date":
            return [{col: d} for d in sorted(self._around(self.dates, lambda d: True))]
        if f.type in ("code", "text"):
            codes = sorted(self.strs | set(f.codes or ()))
            other = "其他"
            while any(other.startswith(s) or s.startswith(other) for s in codes if s):
                other += "_"
            return [{col: c} for c in [*codes, other]]
        if f.type in NUMERIC_TYPES:
            return [{col: v} for v in self._numbers(fact, f.numeric_scale, f.type == "count")]
        return []

    def _received(self, fact: Fact) -> list[Completion]:
        """Nothing received; a payment (of 0) on each candidate date; and, for the totals of
        received_amount(…), a payment on as_of (inside every window) of each candidate amount."""
        triple = [c for c in fact.columns if not c.startswith("received_total@")]
        totals = [c for c in fact.columns if c.startswith("received_total@")]

        def completion(paid: tuple[bool, date | None, int | None], total: int) -> Completion:
            return (dict(zip(triple, paid, strict=True)) if triple else {}) | {c: total for c in totals}

        out = [completion((False, None, None), 0)]
        if triple:
            out += [completion((True, d, 0), 0) for d in sorted(self._around(self.dates, lambda d: d <= self.as_of))]
        amounts = sorted({v for c in totals for v in self._numbers(fact, 2, True, col=c)} - {0})
        out += [completion((True, self.as_of, v), v) for v in amounts]
        return out

    def _around(self, dates: set[date], keep: Any) -> set[date]:
        out: set[date] = set()
        for d in dates:
            for step in (-1, 0, 1):
                try:
                    shifted = d + timedelta(days=step)
                except OverflowError:
                    continue
                if keep(shifted):
                    out.add(shifted)
        return out

    def _numbers(self, fact: Fact, scale: int, count: bool, col: str | None = None) -> list[int]:
        """Raw (scaled integer) candidates of a numeric fact (of its column `col`, by default its key)."""
        unit = 10**scale
        col = col or fact.key
        points = set(self.nums) | {Fraction(1), _BIG, -_BIG}
        points |= self._roots(fact, col, unit, sorted(self.nums))
        raw: set[int] = set()
        for p in points:
            scaled = p * unit
            for base in {scaled.__floor__(), scaled.__ceil__()}:
                raw |= {base - 1, base, base + 1}
        return sorted(v for v in raw if not count or v >= 0)

    def _roots(self, fact: Fact, col: str, unit: int, consts: list[Fraction]) -> set[Fraction]:
        """Where comparisons reading the fact, and numeric arguments of functions, cross the
        clause's constants: secants between neighbouring probes, exact on linear pieces."""
        targets: list[tuple[ast.Node, ast.Node | None]] = []
        for root in self.roots:
            for n in ast.walk(root):
                if fact.key not in self.node_reads(n):
                    continue
                if isinstance(n, ast.Compare):
                    targets.append((n.left, n.right))
                elif isinstance(n, ast.Call) and n.name not in _AGGREGATES:
                    targets += [(a, None) for a in n.args if fact.key in self.node_reads(a)]
                elif isinstance(n, ast.Call):
                    targets.append((n, None))
        others = [c for c in self.column_fact if self.column_fact[c] != fact.key]
        numeric = {c for c in others if (f := self.schema.fields.get(c.partition("@")[0])) and f.type in NUMERIC_TYPES}
        contexts: list[dict[str, Any]] = [{c: None for c in others},
                                          {c: (0 if c in numeric else None) for c in others}]
        probes = sorted({Fraction(0), Fraction(1), *consts})[:24]
        out: set[Fraction] = set()
        for (left, right), others_at in itertools.product(targets[:16], contexts if numeric else contexts[:1]):
            for p in probes:
                q = p + Fraction(1, unit)
                g0 = self._difference(left, right, col, p, unit, others_at)
                g1 = self._difference(left, right, col, q, unit, others_at)
                if g0 is None or g1 is None:
                    continue
                for k in ([Fraction(0)] if right is not None else consts):
                    a = (g1 - g0) / (q - p)
                    if a != 0:
                        x = p + (k - g0) / a
                        if abs(x) <= _BIG:
                            out.add(x)
        return out

    def _difference(self, left: ast.Node, right: ast.Node | None, col: str, x: Fraction, unit: int,
                    others: Mapping[str, Any]) -> Fraction | None:
        if (x * unit).denominator != 1:
            return None
        values = dict(others)
        values[col] = int(x * unit)
        try:
            a = self.value(left, values)
            b = self.value(right, values) if right is not None else Fraction(0)
        except (TypeError, KeyError):
            return None
        if isinstance(a, Fraction) and isinstance(b, Fraction):
            return a - b
        return None

    def representatives(self, fact: Fact) -> list[Completion]:
        """Candidates that differ to the clause: one per value vector of the fact's largest
        sub-expressions that read no other unknown fact."""
        subterms, raw = self.subterms(fact.key)
        others = {c: None for c in self.column_fact if self.column_fact[c] != fact.key}
        kept: dict[tuple[Any, ...], Completion] = {}
        for cand in self.candidates(fact):
            values = dict(others)
            values.update(cand)
            interp = self.interp(values)
            signature: tuple[Any, ...] = tuple(interp.eval(n) for n in subterms)
            if raw:
                signature += tuple(sorted(cand.items()))
            kept.setdefault(signature, cand)
        return list(kept.values())


def analyse(schema: Schema, params: Mapping[str, Parameter], as_of: date, clause: Clause,
            row: Mapping[str, Any], memo: dict[int, tuple[ast.Node, Any]] | None = None) -> Analysis:
    """Which unknown facts the clause reads, and which of them can change its verdict."""
    a = _Analyser(schema, params, as_of, clause, row, memo)
    columns: list[str] = []
    for root in a.roots:
        columns += columns_read(root, schema, as_of)
    facts = unknown_facts(dict.fromkeys(columns), row, schema)
    for f in facts:
        for c in f.columns:
            a.column_fact[c] = f.key
    if not facts:
        return Analysis([], [])
    reps = [a.representatives(f) for f in facts]
    blank = {c: None for c in a.column_fact}

    def run(choice: tuple[int, ...]) -> Verdict:
        values = dict(blank)
        for f_reps, i in zip(reps, choice, strict=True):
            values.update(f_reps[i])
        return verdict(a.interp(values), clause)

    size = 1
    for r in reps:
        size *= len(r)
    results: dict[tuple[int, ...], Verdict] = {}
    exhaustive = size <= BUDGET
    if exhaustive:
        for choice in itertools.product(*(range(len(r)) for r in reps)):
            results[choice] = run(choice)
    else:
        rng = random.Random(0)
        for i, r in enumerate(reps):
            rounds = max(1, BUDGET // (len(r) * len(reps)))
            for _ in range(rounds):
                base = [rng.randrange(len(x)) for x in reps]
                for j in range(len(r)):
                    base[i] = j
                    choice = tuple(base)
                    if choice not in results:
                        results[choice] = run(choice)
    if not exhaustive and len(set(results.values())) > 1:
        _walk_between_verdicts(results, run)
    relevant: list[tuple[Fraction, int, Relevant]] = []
    for i, f in enumerate(facts):
        groups: dict[tuple[int, ...], dict[Verdict, tuple[int, ...]]] = {}
        for choice, v in results.items():
            groups.setdefault(choice[:i] + choice[i + 1:], {}).setdefault(v, choice)
        pair = next((list(g.values())[:2] for g in groups.values() if len(g) > 1), None)
        if pair is None:
            continue
        witness = (_completion(reps, pair[0], blank), _completion(reps, pair[1], blank))
        settles = sum(1 for cand in reps[i] if verdict(a.interp({**blank, **cand}), clause)[0] != "unknown")
        decides = Fraction(settles, len(reps[i]))
        relevant.append((-decides, i, Relevant(f, decides, witness)))
    relevant.sort(key=lambda t: (t[0], t[1]))
    found = {v for v in results.values()}
    # No fact can change it: what every completion gives (when sampled, every sampled one: the
    # result still says which verdict the data points to instead of an empty list of questions).
    settled = next(iter(found)) if not relevant and len(found) == 1 else None
    return Analysis(facts, [r for _, _, r in relevant], exhaustive, settled)


def _walk_between_verdicts(results: dict[tuple[int, ...], Verdict],
                           run: Callable[[tuple[int, ...]], Verdict]) -> None:
    """Sampling saw two verdicts but maybe no pair differing in one fact: change one fact at a
    time from a completion of the first verdict to one of the second; some single step changes
    the verdict, and that step (added to `results`) is a witness for its fact."""
    start, *_ = results
    end = next(c for c, v in results.items() if v != results[start])
    here = start
    for i in range(len(start)):
        if here[i] == end[i]:
            continue
        step = (*here[:i], end[i], *here[i + 1:])
        if step not in results:
            results[step] = run(step)
        here = step


def _completion(reps: list[list[Completion]], choice: tuple[int, ...], blank: Mapping[str, Any]) -> Completion:
    out = dict(blank)
    for f_reps, i in zip(reps, choice, strict=True):
        out.update(f_reps[i])
    return out


def _unique(items: list[Completion]) -> list[Completion]:
    seen: dict[tuple[Any, ...], Completion] = {}
    for c in items:
        seen.setdefault(tuple(sorted(c.items(), key=lambda kv: kv[0])), c)
    return list(seen.values())
