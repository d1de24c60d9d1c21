"""A document's validity as dated periods with gaps (#14 point 2): 稳岗返还's 2024 notice ran to
2024-12-31 and the 2025 notice applied from 2025-04-14, nothing in between."""

from __future__ import annotations

from datetime import date

import pytest
from tests.unit.rules.support import clause, policy, run

from zhida.rules.lang.errors import PolicyError
from zhida.rules.model.policy import content_hash, parse_policy

PERIODS = [{"from": "2020-01-01", "to": "2024-12-31", "source": "2024年通知"},
           {"from": "2025-04-14", "to": "2025-12-31", "source": "2025年通知"}]


def doc(**extra):
    return policy([clause("employees >= 10", "1000")], valid_to="2025-12-31", periods=PERIODS, **extra)


@pytest.mark.parametrize(("on", "expected"), [
    (date(2024, 12, 31), True), (date(2025, 1, 1), False), (date(2025, 4, 13), False),
    (date(2025, 4, 14), True), (date(2025, 12, 31), True), (date(2026, 1, 1), False), (date(2019, 12, 31), False)])
def test_a_document_applies_only_inside_its_periods(on, expected):
    assert parse_policy(doc()).in_force(on) is expected


def test_in_the_gap_every_clause_is_ineligible_and_says_when_the_policy_applies():
    facts = [{"facts": {"employees": 20}}]
    batch, explained = run(doc(), facts, date(2025, 2, 1))
    assert batch == {}
    e = explained[0]["demo/c"]
    assert e.status == "ineligible"
    assert e.reasons == ["政策不在有效期内（2020-01-01 至 2024-12-31、2025-04-14 至 2025-12-31）"]
    batch, _ = run(doc(), facts, date(2025, 5, 1))
    assert batch[(0, "demo/c")]["status"] == "eligible"


@pytest.mark.parametrize(("periods", "words"), [
    ([{"from": "2020-01-01", "to": "2024-12-31"}, {"from": "2024-06-01", "to": "2025-12-31"}], "重叠或顺序颠倒"),
    ([{"from": "2020-01-01"}, {"from": "2025-04-14", "to": "2025-12-31"}], "没有结束日期，却不是最后一个"),
    ([{"from": "2021-01-01", "to": "2025-12-31"}], "开始日期与 valid_from 不一致"),
    ([{"from": "2020-01-01", "to": "2025-06-30"}], "结束日期与 valid_to 不一致"),
    ([{"from": "2020-01-01", "to": "2019-06-30"}, {"from": "2025-04-14", "to": "2025-12-31"}], "结束早于开始"),
])
def test_inconsistent_periods_are_refused_with_the_period_named(periods, words):
    with pytest.raises(PolicyError) as e:
        parse_policy(policy([clause("true", "1")], valid_to="2025-12-31", periods=periods))
    assert any(words in p.message and p.field.startswith("periods.") for p in e.value.problems)


def test_a_document_without_periods_keeps_its_version_hash():
    """Adding the field must not make every published policy a new version: this hash was
    computed by the code before `periods` existed."""
    plain = parse_policy(policy([clause("true", "1")]))
    assert content_hash(plain.spec) == "71983535f4301cd00d545b87ecf8983c7a91e11905d3e6a57148f94f11fe8bec"
    assert content_hash(parse_policy(doc()).spec) != content_hash(
        parse_policy(policy([clause("employees >= 10", "1000")], valid_to="2025-12-31")).spec)
