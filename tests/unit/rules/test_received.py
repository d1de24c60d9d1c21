"""received("policy/clause"): true when the firm was paid for the clause (on or before as_of,
inside the window), false once the received source is loaded and has no such payment, unknown
only when it was never loaded — on the batch path and in the explanation alike."""

from __future__ import annotations

from datetime import date

import pytest
from tests.unit.rules.support import SCHEMA, clause, policy, run

from zhida.rules.evaluate.engine import compile_policies
from zhida.rules.lang.errors import PolicyError
from zhida.rules.lang.parse import parse
from zhida.rules.lang.periods import window_start
from zhida.rules.model.policy import parse_policy

KEY = "wenzhou-2023-8-specialized/little-giant"
PAID = {KEY: [{"paid_on": "2023-08-15", "amount": "100万"}]}


def decide(when: str, received=None, facts=None, as_of=date(2024, 6, 1)):
    doc = {"facts": facts or {}}
    if received is not None:
        doc["received"] = received
    batch, explained = run(policy([clause(when, "100万")]), [doc], as_of)
    e = explained[0]["demo/c"]
    got = batch.get((0, "demo/c"))
    assert (got["status"] if got else "ineligible") == e.status  # both paths agree
    return e


def test_a_firm_paid_for_the_clause_is_not_eligible_again_and_the_reason_names_the_payment():
    e = decide(f'not received("{KEY}")', PAID)
    assert e.status == "ineligible"
    assert e.reasons == [f"已于 2023-08-15 获得（{KEY}，100万元）"]


def test_a_firm_without_a_payment_is_eligible_once_the_source_is_loaded():
    e = decide(f'not received("{KEY}")', {})
    assert e.status == "eligible"
    assert e.atoms[0].facts[0].value == "未获得"


def test_receipts_of_other_clauses_do_not_count():
    assert decide(f'not received("{KEY}")', {"other/clause": [{"paid_on": "2023-01-01"}]}).status == "eligible"


def test_the_function_is_unknown_only_when_the_source_was_never_loaded():
    e = decide(f'not received("{KEY}")')
    assert e.status == "unknown"
    assert e.missing == [f"已获资金“{KEY}”"]


def test_a_payment_after_the_evaluation_date_does_not_count_yet():
    assert decide(f'not received("{KEY}")', PAID, as_of=date(2023, 8, 14)).status == "eligible"
    assert decide(f'not received("{KEY}")', PAID, as_of=date(2023, 8, 15)).status == "ineligible"


def test_the_negative_case_is_explained_in_chinese():
    e = decide(f'received("{KEY}")', {})
    assert e.status == "ineligible" and e.reasons == ["未获得过该项资金"]


@pytest.mark.parametrize(("window", "as_of", "status"), [
    ("within = 1 year", date(2024, 8, 15), "ineligible"),     # paid exactly one year before: inside
    ("within = 1 year", date(2024, 8, 16), "eligible"),       # a day later: outside
    ("within = 12 months", date(2024, 8, 16), "eligible"),
    ("within = 3年", date(2026, 1, 1), "ineligible"),
    ("within = 36 个月", date(2026, 9, 1), "eligible"),
])
def test_a_window_counts_only_recent_payments(window, as_of, status):
    assert decide(f'not received("{KEY}", {window})', PAID, as_of=as_of).status == status


def test_outside_the_window_the_explanation_says_when_it_was_last_received():
    e = decide(f'received("{KEY}", within = 3 months)', PAID, as_of=date(2024, 6, 1))
    assert e.reasons == ["近3个月内未获得过该项资金（最近一次于 2023-08-15 获得，不在期限内）"]


def test_since_a_date_field_counts_payments_from_that_date_on():
    when = f'not received("{KEY}", since = established)'
    assert decide(when, PAID, facts={"established": "2023-09-01"}).status == "eligible"
    assert decide(when, PAID, facts={"established": "2023-08-15"}).status == "ineligible"
    # a payment received but an unknown start: unknown; nothing received: false whatever the start
    assert decide(when, PAID).status == "unknown"
    assert decide(when, {}).status == "eligible"


def test_the_latest_payment_on_or_before_the_date_is_the_one_shown():
    paid = {KEY: [{"paid_on": "2023-08-15", "amount": "100万"}, {"paid_on": "2024-01-10", "amount": "5000"},
                  {"paid_on": "2024-01-10", "amount": "2500.5"}, {"paid_on": "2025-01-01", "amount": "1"}]}
    e = decide(f'not received("{KEY}")', paid)
    assert e.reasons == [f"已于 2024-01-10 获得（{KEY}，7,500.50元）"]


def test_window_start_clips_to_the_end_of_the_month():
    d = parse('received("a/b", within = 1 year)').kwarg("within")
    assert window_start(d, date(2024, 2, 29)) == date(2023, 2, 28)
    m = parse('received("a/b", within = 1 month)').kwarg("within")
    assert window_start(m, date(2024, 3, 31)) == date(2024, 2, 29)


@pytest.mark.parametrize(("when", "message"), [
    ('received("little-giant")', "政策编号/条款编号"),
    ("received(employees)", "带引号的条款键"),
    ('received("a/b", within = employees)', "within 应为时长"),
    ('received("a/b", since = employees)', "since 应为日期"),
    ('received("a/b", within = 1 year, since = established)', "二选一"),
    ('received("a/b", until = 2024-01-01)', "不认识参数 until"),
    ('listed("专精特新小巨人", within = 1 year)', "不接受具名参数"),
    ('received("a/b") + 1 > 0', "不能做算术"),
])
def test_mistakes_are_reported_with_a_fix(when, message):
    with pytest.raises(PolicyError, match=message):
        compile_policies([parse_policy(policy([clause(when)]))], SCHEMA, date(2024, 6, 1))


def test_failing_only_on_money_already_paid_is_no_near_miss():
    from tests.unit.rules.support import compile_frame

    when = f'employees >= 10 and not received("{KEY}")'
    firms = [{"facts": {"employees": 12}, "received": PAID},          # paid already: not a near miss
             {"facts": {"employees": 8}, "received": {}}]             # 2 short: a near miss
    compiled, df = compile_frame(policy([clause(when, "100万")]), firms)
    near = compiled.near_miss_orders("all")
    for method in ("batch", "rows"):
        out = compiled.evaluate(df, method=method, near_misses=near)
        assert out.select("row", "status").rows() == [(1, "near_miss")], method


def test_lint_warns_when_received_names_no_clause_of_the_pack():
    from zhida.rules.check.lint import lint_policies

    doc = policy([clause('not received("demo/c")', id="c"), clause('not received("demo/typo")', id="d",
                                                                     stackable=True)])
    found = [p for p in lint_policies([parse_policy(doc)], SCHEMA) if "received" in p.message]
    assert [(p.severity, p.message) for p in found] == [
        ("warning", "received 引用的条款 “demo/typo” 不在所检查的政策中")]
