"""Exclusivity and caps across policies (#14 point 2): 扩岗补助 “不与一次性吸纳就业补贴重复享受” when
the two are separate documents; 温州 总量控制 over 市、区 awards of one year in separate files."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from tests.unit.rules.support import AS_OF, SCHEMA, clause, policy

from zhida.rules.check.lint import lint_policies
from zhida.rules.evaluate.engine import compile_policies
from zhida.rules.explanation.explain import explain_frame
from zhida.rules.lang.errors import PolicyError
from zhida.rules.model.facts import build_frame
from zhida.rules.model.policy import parse_policy


def run(docs: list[dict[str, Any]], facts: list[dict[str, Any]], as_of: date = AS_OF):
    compiled = compile_policies([parse_policy(d) for d in docs], SCHEMA, as_of)
    df = build_frame(facts, compiled.requirements, SCHEMA, as_of)
    batch = {(r["row"], r["clause"]): (r["status"], r["amount_fen"])
             for r in compiled.evaluate(df).iter_rows(named=True)}
    explained = [{e.key: e for e in explain_frame(compiled, df, i)} for i in range(len(facts))]
    for row, by_key in enumerate(explained):   # the explanation agrees with the batch engine
        for key, e in by_key.items():
            if (row, key) in batch:
                assert (e.status, e.amount_fen) == batch[(row, key)]
    return batch, explained


def test_clauses_of_two_policies_in_one_group_pay_once_the_higher():
    expansion = policy([clause("employees >= 1", "employees * 1500", id="expansion",
                               exclusive={"group": "扩岗与吸纳就业", "rule": "highest"})], id="expansion")
    absorption = policy([clause("employees >= 1", "employees * 1000", id="absorption",
                                exclusive={"group": "扩岗与吸纳就业", "rule": "highest"})], id="absorption")
    batch, explained = run([expansion, absorption], [{"facts": {"employees": 4}}])
    assert batch[(0, "expansion/expansion")] == ("eligible", 600_000)
    assert batch[(0, "absorption/absorption")] == ("excluded", 400_000)
    assert "同一事项不重复享受" in explained[0]["absorption/absorption"].reasons[0]
    assert not [p for p in lint_policies([parse_policy(expansion), parse_policy(absorption)], SCHEMA)
                if p.severity == "error"]


def test_a_cap_shared_by_a_group_of_policies_counts_them_together_in_pack_order():
    cap = {"amount": "ui_paid[last_year]", "when": "years_since(established) > 3", "group": "温州市区奖补总量"}
    city = policy([clause("true", "100万", id="a")], id="city", enterprise_cap=cap)
    district = policy([clause("true", "50万", id="b")], id="district", enterprise_cap=cap)
    own = policy([clause("true", "30万", id="c")], id="own",
                 enterprise_cap={"amount": "10万", "when": "true"})              # not in the group
    firm = {"facts": {"ui_paid": {"2023": "120万"}, "established": "2010-01-01"}}
    batch, _ = run([city, district, own], [firm])
    assert batch[(0, "city/a")] == ("eligible", 100_000_000)
    assert batch[(0, "district/b")] == ("eligible", 20_000_000)      # 120万 − 100万 left for the district
    assert batch[(0, "own/c")] == ("eligible", 10_000_000)           # its own cap, untouched by the group
    alone, _ = run([district], [firm])
    assert alone[(0, "district/b")] == ("eligible", 50_000_000)      # without the city's award: 50万


def test_policies_of_one_cap_group_must_state_the_same_cap():
    city = policy([clause("true", "1", id="a")], id="city",
                  enterprise_cap={"amount": "ui_paid[last_year]", "when": "true", "group": "总量"})
    district = policy([clause("true", "1", id="b")], id="district",
                      enterprise_cap={"amount": "ui_paid[last_year] * 2", "when": "true", "group": "总量"})
    with pytest.raises(PolicyError) as e:
        compile_policies([parse_policy(city), parse_policy(district)], SCHEMA, AS_OF)
    (problem,) = e.value.problems
    assert "总量控制组“总量”的上限与政策 city 写法不一致" in problem.message and problem.field == "enterprise_cap"
    same_in_chinese = policy([clause("true", "1", id="b")], id="district",
                             enterprise_cap={"amount": "失业保险缴费[上年度]", "when": "true", "group": "总量"})
    compile_policies([parse_policy(city), parse_policy(same_in_chinese)], SCHEMA, AS_OF)   # labels: same cap
