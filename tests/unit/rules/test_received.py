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


@pytest.mark.parametrize("paid", [f'not received("{KEY}")', f'received_amount("{KEY}") < 50万'])
def test_failing_only_on_money_already_paid_is_no_near_miss(paid):
    from tests.unit.rules.support import compile_frame

    when = f"employees >= 10 and {paid}"
    firms = [{"facts": {"employees": 12}, "received": PAID},          # paid already (100万): not a near miss
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


# -- received_amount: how much was paid ----------------------------------------------------
PAYMENTS = {KEY: [{"paid_on": "2023-08-15", "amount": "100万"}, {"paid_on": "2024-03-01", "amount": "20万"},
                  {"paid_on": "2024-03-01", "amount": "5000"}, {"paid_on": "2024-07-01", "amount": "1万"}]}
CAPPED = f'max(150万 - received_amount("{KEY}"), 0)'


def award(amount: str, received=None, when: str = "true", as_of=date(2024, 6, 1), **extra):
    """The explanation of one firm under a clause paying `amount`, the batch agreeing with it."""
    doc = {"facts": {}} | ({} if received is None else {"received": received})
    batch, explained = run(policy([clause(when, amount, **extra)]), [doc], as_of)
    e = explained[0]["demo/c"]
    got = batch.get((0, "demo/c"))
    assert ((got["status"], got["amount_fen"]) if got else ("ineligible", None)) == (
        e.status, e.amount_fen if e.status != "ineligible" else None)
    return e


def test_a_cap_on_the_total_received_pays_only_the_remainder():
    # 100万 + 20.5万 paid on or before as_of (the 1万 of 2024-07-01 comes later): 29.5万 left of 150万
    assert award(CAPPED, PAYMENTS).amount_fen == 29_500_000
    assert award(CAPPED, PAYMENTS, as_of=date(2024, 7, 1)).amount_fen == 28_500_000
    assert award("80万", PAYMENTS, cap=CAPPED).amount_fen == 29_500_000
    assert award(f'max(100万 - received_amount("{KEY}"), 0)', PAYMENTS).amount_fen == 0


def test_nothing_received_is_zero_once_the_source_is_loaded_and_unknown_before():
    assert award(CAPPED, {}).amount_fen == 150_000_000
    assert award(CAPPED, {"other/clause": [{"paid_on": "2023-01-01", "amount": "50万"}]}).amount_fen == 150_000_000
    e = award(CAPPED)
    assert e.status == "unknown" and e.missing == [f"已获资金“{KEY}”"]


@pytest.mark.parametrize(("window", "as_of", "fen"), [
    ("within = 1 year", date(2024, 8, 15), 20_500_000 + 1_000_000 + 100_000_000),   # 2023-08-15 is inside
    ("within = 1 year", date(2024, 8, 16), 20_500_000 + 1_000_000),
    ("within = 3 months", date(2024, 6, 1), 20_500_000),                            # from 2024-03-01 on
    ("within = 2 个月", date(2024, 6, 1), 0),
    ("since = 2024-03-01", date(2024, 6, 1), 20_500_000),
    ("since = 2024-03-02", date(2024, 12, 31), 1_000_000),
])
def test_a_window_adds_up_only_the_payments_inside_it(window, as_of, fen):
    assert award(f'received_amount("{KEY}", {window})', PAYMENTS, as_of=as_of).amount_fen == fen


def test_a_condition_on_the_amount_received_is_explained_with_the_total():
    e = award("10万", PAYMENTS, when=f'received_amount("{KEY}", within = 6 months) < 10万')
    assert e.status == "ineligible"
    assert e.reasons == [f'已获资金累计金额（"{KEY}"） 205,000.00元（近6个月内），需 < 10万']
    assert e.atoms[0].facts[0].value == "近6个月内累计获得 205,000.00元"
    assert award("10万", {}, when=f'received_amount("{KEY}") < 10万').atoms[0].facts[0].value == "未获得"


def test_missing_the_total_only_asks_for_what_was_received():
    e = award("10万", when=f'received_amount("{KEY}") < 10万')
    assert e.status == "unknown"
    assert [q.fact.label for q in e.questions] == [f"已获资金“{KEY}”"]
    assert award("10万", when=f'employees >= 10 and received_amount("{KEY}") < 10万').missing == [
        "参保人数", f"已获资金“{KEY}”"]


@pytest.mark.parametrize(("amount", "message"), [
    ('received_amount("little-giant")', "政策编号/条款编号"),
    ('received_amount("a/b", since = established)', "since 应为日期常量"),
    ('received_amount("a/b", within = employees)', "within 应为时长"),
    ('received_amount("a/b", within = 1 year, since = 2024-01-01)', "二选一"),
    ('received_amount("a/b", until = 2024-01-01)', "received_amount 不认识参数 until"),
])
def test_amount_mistakes_are_reported_with_a_fix(amount, message):
    with pytest.raises(PolicyError, match=message):
        compile_policies([parse_policy(policy([clause("true", amount)]))], SCHEMA, date(2024, 6, 1))


def test_received_amount_compared_with_a_head_count_is_a_type_error():
    with pytest.raises(PolicyError, match="不能与"):
        compile_policies([parse_policy(policy([clause('received_amount("a/b") > employees')]))], SCHEMA,
                         date(2024, 6, 1))


def test_each_window_is_its_own_frame_column():
    compiled = compile_policies([parse_policy(policy([clause(
        "true", f'received_amount("{KEY}") + received_amount("{KEY}", within = 3 years)'
                f' + received_amount("{KEY}", since = 2024-01-01)')]))], SCHEMA, date(2024, 6, 1))
    assert compiled.requirements.columns() == [
        f"received_total@{KEY}", f"received_total@{KEY}@since=2024-01-01", f"received_total@{KEY}@within=3y"]


def test_lint_warns_when_received_amount_names_no_clause_of_the_pack():
    from zhida.rules.check.lint import lint_policies

    doc = policy([clause("true", 'max(10万 - received_amount("demo/typo"), 0)')])
    found = [p for p in lint_policies([parse_policy(doc)], SCHEMA) if "received" in p.message]
    assert [(p.severity, p.message) for p in found] == [
        ("warning", "received_amount 引用的条款 “demo/typo” 不在所检查的政策中")]
