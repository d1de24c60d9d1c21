"""政策拆解: numbers and units, boundary words, periods, and/or, exclusions."""

from __future__ import annotations

from datetime import date
from fractions import Fraction

import pytest

from zhida.extract import extract
from zhida.extract.text import normalise, quantities


def atoms(text: str) -> list[tuple[object, ...]]:
    return [a.key() for a in extract(text).atoms()]


def one(text: str) -> tuple[object, ...]:
    found = atoms(text)
    assert len(found) == 1, found
    return found[0]


@pytest.mark.parametrize(("text", "value", "unit"), [
    ("1.5万元", Fraction(15000), "money"),
    ("一百万元", Fraction(1_000_000), "money"),
    ("2亿元", Fraction(200_000_000), "money"),
    ("3千元", Fraction(3000), "money"),
    ("5000万元", Fraction(50_000_000), "money"),
    ("60%", Fraction(3, 5), "percent"),
    ("６０％", Fraction(3, 5), "percent"),        # full-width digits and sign
    ("百分之五十", Fraction(1, 2), "percent"),
    ("十二个月", Fraction(12), "个月"),
    ("三百人", Fraction(300), "人"),
])
def test_chinese_numerals_and_units_are_read_exactly(text, value, unit):
    (q,) = quantities(normalise(text).norm, [])
    assert (q.value, q.unit) == (value, unit)


def test_chinese_numerals_without_a_unit_are_not_figures():
    assert quantities(normalise("一次性奖励，六税两费，同一年度").norm, []) == []


@pytest.mark.parametrize(("text", "op"), [
    ("上年度营业收入2000万元以上的企业", ">="),
    ("上年度营业收入2000万元（含）以上的企业", ">="),
    ("上年度营业收入2000万元以下的企业", "<="),
    ("上年度营业收入2000万元以内的企业", "<="),
    ("上年度营业收入不超过2000万元的企业", "<="),
    ("上年度营业收入不低于2000万元的企业", ">="),
    ("上年度营业收入不少于2000万元的企业", ">="),
    ("上年度营业收入超过2000万元的企业", ">"),
    ("上年度营业收入高于2000万元的企业", ">"),
    ("上年度营业收入低于2000万元的企业", "<"),
    ("上年度营业收入不足2000万元的企业", "<"),
    ("上年度营业收入不满2000万元的企业", "<"),
    ("上年度营业收入不超过2000万元（不含本数）的企业", "<"),
])
def test_boundary_words_include_or_exclude_the_number(text, op):
    assert one(text) == ("revenue", op, Fraction(20_000_000), "last_year")


@pytest.mark.parametrize(("text", "key"), [
    ("从业人数不超过300人", ("employees", "<=", Fraction(300), "last_year")),
    ("资产总额不超过5000万元", ("total_assets", "<=", Fraction(50_000_000), "last_year")),
    ("当年研发费用超过500万元", ("rd_expense", ">", Fraction(5_000_000), "this_year")),
    ("2023年度营业收入达到1亿元", ("revenue", ">=", Fraction(100_000_000), "2023")),
    ("裁员率不高于参保职工总数20%", ("layoff_rate", "<=", Fraction(1, 5), "last_year")),
    ("企业成立满3年", ("years_established", ">=", Fraction(3), None)),
    ("有效发明专利5件以上", ("invention_patents", ">=", Fraction(5), None)),
])
def test_phrases_map_to_registry_fields_and_periods(text, key):
    assert one(text) == key


def test_a_period_named_once_carries_to_the_following_facts():
    assert atoms("上年度营业收入超过1000万元且研发费用超过100万元") == [
        ("revenue", ">", Fraction(10_000_000), "last_year"),
        ("rd_expense", ">", Fraction(1_000_000), "last_year"),
    ]


def test_a_period_the_field_cannot_take_is_flagged_low_confidence():
    (a,) = extract("当年新招用人数不足5人").atoms()
    assert a.field == "hires" and a.confidence < 0.6 and "粒度" in a.notes[0]


def test_and_words_make_separate_conditions_and_or_words_one_group():
    d = extract("上年度营业收入超过1000万元且从业人数不少于50人，或者有效发明专利5件以上的企业")
    groups = [[a.field for a in g] for g in d.clauses[0].groups]
    assert groups == [["revenue"], ["employees"], ["invention_patents"]]
    d = extract("上年度营业收入超过1000万元或研发费用不低于200万元的企业")
    assert [[a.field for a in g] for g in d.clauses[0].groups] == [["revenue", "rd_expense"]]


def test_kinds_of_enterprise_listed_together_are_alternatives():
    d = extract("对增值税小规模纳税人、小型微利企业和个体工商户减半征收")
    (group,) = d.clauses[0].groups
    assert [a.field for a in group] == ["vat_taxpayer_type", "small_low_profit", "is_individual_business"]


@pytest.mark.parametrize(("text", "key"), [
    ("被列入严重违法失信名单的企业不予支持", ("listed:严重违法失信名单", "==", False, None)),
    ("除僵尸企业外", ("tagged:僵尸企业", "==", False, None)),
    ("不含劳务派遣单位", ("tagged:劳务派遣单位", "==", False, None)),
    ("非高新技术企业", ("listed:高新技术企业", "==", False, None)),
])
def test_exclusions_negate_what_they_name(text, key):
    assert one(text) == key


def test_an_exclusion_sentence_applies_to_every_benefit_of_the_text():
    d = extract("高新技术企业给予20万元奖励。科技型中小企业给予5万元奖励。僵尸企业不纳入支持范围。")
    assert len(d.clauses) == 2
    for c in d.clauses:
        assert ("tagged:僵尸企业", "==", False, None) in [a.key() for a in c.atoms]


def test_registration_before_a_date_is_a_date_condition():
    assert one("2022年1月31日前在南山区注册设立的企业") == ("established_on", "<=", date(2022, 1, 31), None)


def test_a_defined_term_is_not_a_condition_of_its_own_definition():
    keys = atoms("本公告所称小型微利企业，是指从业人数不超过300人的企业")
    assert keys == [("employees", "<=", Fraction(300), "last_year")]


def test_every_atom_keeps_its_source_span():
    text = "对上年度营业收入超过2000万元的企业给予10万元奖励"
    (a,) = extract(text).atoms()
    assert text[a.span[0]:a.span[1]] == "营业收入超过2000万元"


def test_a_range_of_months_reads_the_monthly_fact_with_an_aggregate():
    from zhida.extract.render import atom_expr

    (a,) = extract("近十二个月月均参保人数不少于10人").atoms()
    assert atom_expr(a, "p/c") == "avg(insured[months(-12..-1)]) >= 10"
    (a,) = extract("近12个月缴纳税款不少于10万元").atoms()
    assert atom_expr(a, "p/c") == "sum(tax_paid_monthly[months(-12..-1)]) >= 10万"
