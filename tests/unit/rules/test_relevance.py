"""Only the facts that can change an unknown result are asked for (rules/explanation/relevance.py).

A fact is relevant when two completions of the unknown facts that differ only in it give
different verdicts (status and amount). The property test checks both directions on random
rules and data with the batch engine (Polars), not the interpreter the analysis runs on:
every listed fact's witness pair really gives two verdicts, and no unknown fact left out
changes the verdict on completions drawn near the rule's own constants.
"""

from __future__ import annotations

from datetime import date, timedelta
from fractions import Fraction
from typing import Any

import polars as pl
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from tests.unit.rules.support import AS_OF, SCHEMA, clause, compile_frame, policy, run
from tests.unit.rules.test_properties import CODE_VALUES, PARAMS, enterprise, random_clause, random_policy

from zhida.rules.lang import ast, frame
from zhida.rules.lang.errors import AmountOverflow
from zhida.rules.lang.periods import received_window_start


def missing(when: str, facts: dict[str, Any], amount: str = "5000") -> list[str]:
    _batch, explained = run(policy([clause(when, amount)]), [facts])
    e = explained[0]["demo/c"]
    assert e.status == "unknown"
    return e.missing


def test_a_fact_behind_an_or_that_already_holds_is_not_asked():
    # the or holds on 参保人数 alone: 营业收入 cannot change anything, 高新技术企业 can
    when = "high_tech and (employees >= 10 or revenue[last_year] >= 300万)"
    assert missing(when, {"facts": {"employees": 20}}) == ["高新技术企业"]


def test_two_conditions_on_one_fact_that_always_agree_ask_nothing():
    # either side of 10 the clause holds: no answer about 参保人数 changes it
    _batch, explained = run(policy([clause("employees >= 10 or employees < 12", "5000")]), [{"facts": {}}])
    e = explained[0]["demo/c"]
    assert (e.status, e.missing, e.settled) == ("unknown", [], ("eligible", 500_000))


def test_a_fact_read_twice_is_relevant_only_where_its_conditions_disagree():
    assert missing("employees >= 10 and employees < 12", {"facts": {}}) == ["参保人数"]


def test_the_answer_that_decides_most_comes_first():
    # 高新技术企业 = 是 settles the clause; 参保人数 or 营业收入 alone never does
    when = "high_tech or (employees >= 10 and revenue[last_year] >= 300万)"
    assert missing(when, {"facts": {}}) == ["高新技术企业", "参保人数", "营业收入[2023]"]


def test_the_district_is_asked_where_a_regional_parameter_decides():
    # 比例 is 60% by default, 70% in 温州 (330300) and 75% in 鹿城区 (330302): with no district the
    # default applies and the condition holds, but the firm's district can make it fail
    doc = policy([clause('60% >= param("rate")', "revenue[last_year]")], parameters=PARAMS)
    _batch, explained = run(doc, [{"facts": {}}])
    assert explained[0]["demo/c"].missing == ["区县代码", "营业收入[2023]"]


def test_an_amount_input_is_asked_once_the_condition_holds():
    asked = missing("employees >= 10", {"facts": {"employees": 12}}, "ui_paid[last_year] * 60%")
    assert asked == ["失业保险缴费[2023]"]


def test_an_amount_that_pays_the_same_on_every_tier_does_not_ask_for_its_base():
    # both tiers pay 500: what was paid is not asked, though the formula reads it
    assert missing("high_tech", {"facts": {}}, "tier(ui_paid[last_year], [100], [500, 500])") == ["高新技术企业"]


# --- the property --------------------------------------------------------------------------

FIELD_COLUMNS = {f.id: f for f in SCHEMA.fields.values()}


def _constants(compiled: Any) -> tuple[list[Fraction], list[date]]:
    c = compiled.clauses[0].clause
    nodes = [n for root in (c.when, c.amount, c.cap) if root is not None for n in ast.walk(root)]
    return ([n.value for n in nodes if isinstance(n, ast.Num)], [n.value for n in nodes if isinstance(n, ast.DateLit)])


def _received_fact(column: str, row: dict[str, Any]) -> str:
    """The fact a received column belongs to: received(…)'s column of the clause when the frame
    has it, else the first total (received_amount(…)) of that clause."""
    kind, _, name = column.partition("@")
    clause = frame.received_total_parts(column)[0] if kind == "received_total" else name
    if frame.received_column(clause) in row:
        return frame.received_column(clause)
    return next(c for c in row if c.startswith("received_total@") and frame.received_total_parts(c)[0] == clause)


def _received_value(draw: st.DrawFn, column: str, row: dict[str, Any], nums: list[Fraction]) -> dict[str, Any]:
    """What was received for a clause, consistently: maybe one payment, on a date and of an
    amount; each total of received_amount(…) counts it when the date is inside its window."""
    kind, _, name = column.partition("@")
    clause = frame.received_total_parts(column)[0] if kind == "received_total" else name
    paid = draw(st.booleans())
    on = draw(st.dates(date(2021, 1, 1), AS_OF)) if paid else None
    near = [int(k * 100) + step for k in nums if (k * 100).denominator == 1 and k >= 0 for step in (-1, 0, 1)]
    fen = draw(st.one_of(st.sampled_from([0, *[n for n in near if n >= 0]]), st.integers(0, 10**9))) if paid else None
    out: dict[str, Any] = {}
    if frame.received_column(clause) in row:
        out |= {frame.received_column(clause): paid, frame.received_on_column(clause): on,
                frame.received_fen_column(clause): fen}
    for c in row:
        if c.startswith("received_total@") and frame.received_total_parts(c)[0] == clause:
            start = received_window_start(frame.received_total_parts(c)[1], AS_OF)
            out[c] = fen if on is not None and (start is None or on >= start) else 0
    return out


def _value(draw: st.DrawFn, column: str, nums: list[Fraction], dates: list[date],
           row: dict[str, Any] | None = None) -> dict[str, Any]:
    """One concrete value for an unknown fact (all of its columns), near the rule's constants
    as often as not."""
    kind, _, name = column.partition("@")
    if kind in ("received", "received_total") and row is not None:
        return _received_value(draw, column, row, nums)
    if kind == "list":   # membership and its first date are one fact: a member has a date on or before as_of
        member = draw(st.booleans())
        near = [d + timedelta(days=k) for d in [*dates, AS_OF] for k in (-1, 0, 1) if d + timedelta(days=k) <= AS_OF]
        since = draw(st.one_of(st.sampled_from(near), st.dates(date(2010, 1, 1), AS_OF))) if member else None
        return {column: member, f"list_since@{name}": since}
    if kind in ("tag", "zone"):
        return {column: draw(st.booleans())}
    if kind == "received":
        paid = draw(st.booleans())
        on = draw(st.dates(date(2021, 1, 1), AS_OF)) if paid else None
        return {column: paid, f"received_on@{name}": on, f"received_fen@{name}": 0 if paid else None}
    f = FIELD_COLUMNS[kind]
    if f.type == "bool":
        return {column: draw(st.booleans())}
    if f.type == "code":
        return {column: draw(st.sampled_from([*CODE_VALUES, "330381", "I65", "中型", "微型"]))}
    if f.type == "date":
        near = [d + timedelta(days=k) for d in [*dates, AS_OF] for k in (-1, 0, 1)]
        return {column: draw(st.one_of(st.sampled_from(near), st.dates(date(2010, 1, 1), date(2025, 12, 31))))}
    unit = 10**f.numeric_scale
    near = [int(k * unit) + step for k in [*nums, Fraction(0)] if (k * unit).denominator == 1 for step in (-1, 0, 1)]
    low = 0 if f.type == "count" else -10**6 * unit
    choice = st.one_of(st.sampled_from(near), st.integers(low, 10**7 * unit), st.integers(max(low, -5), 50))
    return {column: max(draw(choice), low)}


def _verdicts(compiled: Any, rows: list[dict[str, Any]], schema: Any) -> list[tuple[str, int | None]]:
    df = pl.DataFrame(rows, schema=schema)
    try:
        result = compiled.evaluate(df)
    except AmountOverflow:
        # The relevance analysis probes facts at ±10^9 (beyond every constant) on the exact
        # interpreter; products of such probes can exceed what the batch engine stores (Int64
        # fen, ±9.2×10^18), which it refuses with a clear error. Outside its domain: skip them.
        assume(False)
        raise
    found = {r["row"]: r for r in result.iter_rows(named=True)}
    out = []
    for i in range(len(rows)):
        r = found.get(i)
        status = r["status"] if r else "ineligible"
        out.append((status, r["amount_fen"] if status == "eligible" else None))
    return out


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rule=random_clause(), firm=enterprise(), data=st.data())
def test_unknown_results_list_exactly_the_facts_that_can_change_them(rule, firm, data):
    when, amount, extra = rule
    compiled, df = compile_frame(random_policy(when, amount, extra), [firm])
    _batch, explained = run(random_policy(when, amount, extra), [firm])
    e = explained[0]["demo/c"]
    if e.status != "unknown":
        return
    row = df.row(0, named=True)
    # the unknown facts, found here from the frame: a null column (a received source is one fact)
    unknown = [c for c, v in row.items() if v is None and c != "uscc"
               and not c.startswith(("received_on@", "received_fen@", "list_since@"))
               and (not c.startswith(("received@", "received_total@")) or _received_fact(c, row) == c)]
    asked = {q.fact.key for q in e.questions}
    assert asked <= set(unknown)
    assert [q.fact.label for q in e.questions] == e.missing

    # every listed fact: its two completions differ only in it and give two verdicts on the batch engine
    for q in e.questions:
        one, other = ({**row, **w} for w in q.witness)
        assert {c for c in one if one[c] != other[c]} <= set(q.fact.columns)
        assert all(one[c] is not None for c in unknown if c not in q.fact.columns or c == q.fact.key)
        a, b = _verdicts(compiled, [one, other], df.schema)
        assert a != b, f"{q.fact.label} listed but its witness gives {a} twice\nwhen: {when}\namount: {amount}"

    # every fact left out: flipping it on drawn completions never changes the verdict
    left_out = [c for c in unknown if c not in asked]
    if not left_out:
        return
    nums, dates = _constants(compiled)
    rows: list[dict[str, Any]] = []
    for _ in range(8):
        base = dict(row)
        for c in unknown:
            base |= _value(data.draw, c, nums, dates, row)
        for c in left_out:
            for _ in range(3):
                rows += [base, base | _value(data.draw, c, nums, dates, row)]
    got = _verdicts(compiled, rows, df.schema)
    for i in range(0, len(rows), 2):
        changed = [c for c in left_out if rows[i][c] != rows[i + 1][c]]
        assert got[i] == got[i + 1], (
            f"{changed} left out but changes {got[i]} → {got[i + 1]}\nwhen: {when}\namount: {amount}\n"
            f"{rows[i]}\n{rows[i + 1]}")
