"""政策拆解: amount shapes — fixed, rate × base, per head, tiers, caps and 不超过 ceilings."""

from __future__ import annotations

from fractions import Fraction

from zhida.extract import extract
from zhida.extract.render import amount_expr


def amounts(text: str) -> list[tuple[object, ...]]:
    return [m.key() for m in extract(text).amounts()]


def test_a_fixed_award():
    assert amounts("首次认定的高新技术企业给予20万元奖励") == [("fixed", Fraction(200_000))]


def test_a_rate_of_a_base():
    d = extract("大型企业按企业及其职工上年度实际缴纳失业保险费的30%返还")
    assert [m.key() for m in d.amounts()] == [("rate", Fraction(3, 10)), ("base", "ui_paid_year")]
    assert amount_expr(d.clauses[0])[0] == "ui_paid_year[last_year] * 30%"


def test_a_rate_without_a_base_is_left_to_the_officer():
    d = extract("中小微企业按不超过60%返还")
    assert amount_expr(d.clauses[0])[0] == "TODO"


def test_an_amount_per_head():
    d = extract("按每名参保职工500元的标准发放")
    assert [m.key() for m in d.amounts()] == [("per_head", Fraction(500)), ("count", "insured")]
    assert amount_expr(d.clauses[0])[0] == "insured[last_month] * 500"


def test_per_head_with_a_ceiling_is_still_per_head():
    assert amounts("每招用1人不超过1500元") == [("per_head", Fraction(1500)), ("count", "hires")]


def test_tiers_by_a_fact():
    d = extract("研发费用1000万—5000万元的额外奖励20万元，5000万—1亿元的40万元，1亿元以上的70万元")
    assert amount_expr(d.clauses[0])[0] == "tier(rd_expense[last_year], [1000万, 5000万, 1亿], [0, 20万, 40万, 70万])"


def test_a_cap_after_the_award():
    d = extract("按上年度研发费用的10%给予补助，最高不超过100万元")
    assert ("cap", Fraction(1_000_000)) in [m.key() for m in d.amounts()]
    assert len(d.clauses) == 1


def test_a_ceiling_on_the_benefit_is_a_cap_not_a_condition():
    d = extract("每家企业的租金补贴不超过1万元")
    assert d.atoms() == []
    assert [m.key() for m in d.amounts()] == [("cap", Fraction(10_000))]


def test_a_cap_in_the_next_sentence_belongs_to_the_previous_benefit():
    d = extract("对高新技术企业按上年度研发费用的10%给予补助。每家企业最高100万元。")
    assert len(d.clauses) == 1
    assert [m.kind for m in d.clauses[0].amounts] == ["rate", "base", "cap"]


def test_months_of_rent():
    assert amounts("减免3个月租金") == [("rate", Fraction(3)), ("base", "monthly_rent")]


def test_two_benefits_in_one_sentence_become_two_clauses():
    d = extract("大型企业按不超过企业及其职工上年度实际缴纳失业保险费的30%返还，中小微企业按不超过60%返还。")
    assert len(d.clauses) == 2
    assert amount_expr(d.clauses[1])[0] == "ui_paid_year[last_year] * 60%"
