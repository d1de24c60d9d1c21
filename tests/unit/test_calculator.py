"""The 政策计算器 on a real pack policy: it asks only what is still undecided, decides with
Kleene logic, computes the exact amount, and says which answer it could not read."""

from datetime import date
from pathlib import Path

import pytest

from zhida import catalog
from zhida.calculator import calculate
from zhida.rules.model.policy import load_policies

ROOT = Path(__file__).parents[2]
AS_OF = date(2024, 6, 30)


@pytest.fixture(scope="module")
def retention():
    return [p for p in load_policies([ROOT / "policies"]) if p.id == "cn-hrss-2024-40-job-retention"]


@pytest.fixture(scope="module")
def schema():
    return catalog.load_schema(ROOT / "zones")


def status(result):
    return {c.key.split("/")[1]: (c.status, c.amount_fen) for c in result.clauses}


def test_with_no_answers_everything_is_undecided_and_questions_are_asked(retention, schema):
    r = calculate(retention, schema, AS_OF, {})
    assert status(r) == {"refund-sme": ("unknown", None), "refund-large": ("unknown", None)}
    assert "enterprise_size@2023" in [q.column for q in r.questions]
    size = next(q for q in r.questions if q.column == "enterprise_size@2023")
    assert size.options == ("大型", "中型", "小型", "微型") and size.label == "企业规模[2023]" and size.clauses == 2


def test_a_decided_clause_stops_asking_and_the_amount_is_exact(retention, schema):
    small = calculate(retention, schema, AS_OF, {"enterprise_size@2023": "小型"})
    assert status(small)["refund-large"] == ("ineligible", None)        # decided by one answer
    answers = {"enterprise_size@2023": "小型", "ui_full_months@2023": "12", "layoff_rate@2023": "1%",
               "year_end_insured@2023": "25", "list@严重违法失信名单": "否", "tag@僵尸企业": "否"}
    almost = calculate(retention, schema, AS_OF, answers)
    assert [q.column for q in almost.questions] == ["ui_paid_year@2023"]  # only the amount's base is left
    done = calculate(retention, schema, AS_OF, {**answers, "ui_paid_year@2023": "36000"})
    assert status(done)["refund-sme"] == ("eligible", 2_160_000) and done.decided and not done.questions
    assert done.eligible_fen == 2_160_000 and done.labels["tag@僵尸企业"] == "标签“僵尸企业”"


def test_a_listed_firm_is_refused_with_the_reason(retention, schema):
    r = calculate(retention, schema, AS_OF, {"enterprise_size@2023": "小型", "list@严重违法失信名单": "是"})
    assert status(r)["refund-sme"] == ("ineligible", None)
    assert any("严重违法失信名单" in reason for c in r.clauses for reason in c.reasons)


def test_an_unreadable_answer_is_asked_again_with_what_is_wrong(retention, schema):
    r = calculate(retention, schema, AS_OF, {"layoff_rate@2023": "很低", "list@严重违法失信名单": "也许"})
    assert set(r.errors) == {"layoff_rate@2023", "list@严重违法失信名单"}
    asked = {q.column: q.hint for q in r.questions}
    assert "无法识别" in asked["layoff_rate@2023"] and "是" in asked["list@严重违法失信名单"]
