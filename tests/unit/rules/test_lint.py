from tests.unit.rules.support import SCHEMA, clause, policy

from zhida.rules.check.lint import lint_policy
from zhida.rules.model.policy import parse_policy

CASE = [{"name": "x", "facts": {}, "expect": {"status": "unknown"}}]


def findings(*clauses, **extra):
    return [p.message for p in lint_policy(parse_policy(policy(list(clauses), **extra)), SCHEMA)]


def test_clean_clause_has_no_findings():
    assert findings(clause("employees >= 10", "1000", tests=CASE)) == []


def test_unknown_field_list_param_and_zone_are_reported():
    msgs = findings(clause('employes >= 10 and listed("不存在的名单") and within("火星") and param("x") > 1',
                           tests=CASE))
    assert any("未知字段 “employes”" in m for m in msgs)
    assert any("未知名单 “不存在的名单”" in m for m in msgs)
    assert any("未知区域 “火星”" in m for m in msgs)
    assert any("未知参数 “x”" in m for m in msgs)


def test_money_compared_with_a_date_is_a_type_error():
    assert any("金额不能与日期比较" in m for m in findings(clause("revenue[last_year] >= established", tests=CASE)))


def test_money_plus_headcount_is_a_type_error():
    assert any("金额与人数不能相加减" in m
               for m in findings(clause("true", "ui_paid[last_year] + employees", tests=CASE)))


def test_period_errors():
    msgs = findings(clause("revenue >= 1 and employees[2023] >= 1 and insured[last_year] > 1 "
                           "and revenue[2024-01] > 1 and insured[months(-3..-1)] > 1", tests=CASE))
    assert any("需指明期间" in m for m in msgs)
    assert any("没有期间" in m for m in msgs)
    assert any("按月记录，不能取年度值" in m for m in msgs)
    assert any("按年记录，不能取月度值" in m for m in msgs)
    assert any("需要汇总" in m for m in msgs)


def test_clause_that_can_never_hold_is_reported():
    msgs = findings(clause("employees >= 10 and employees < 5", tests=CASE))
    assert any("不可能成立" in m for m in msgs)
    assert not any("不可能成立" in m for m in findings(clause("employees >= 10 and employees < 50", tests=CASE)))


def test_clause_without_tests_is_reported():
    assert any("没有测试用例" in m for m in findings(clause("employees >= 10")))


def test_overlapping_clauses_need_an_exclusivity_rule_or_stackable():
    a = clause("employees >= 10", id="a", tests=CASE)
    b = clause("employees >= 20", id="b", tests=CASE)
    assert any("可能同时满足" in m for m in findings(a, b))
    disjoint = clause("employees < 10", id="b", tests=CASE)
    assert not any("可能同时满足" in m for m in findings(a, disjoint))
    grouped = [dict(c, exclusive={"group": "g"}) for c in (a, b)]
    assert not any("可能同时满足" in m for m in findings(*grouped))
    assert not any("可能同时满足" in m for m in findings(a, dict(b, stackable=True)))


def test_tier_must_have_one_more_value_than_thresholds():
    msgs = findings(clause("true", "tier(employees, [10, 20], [1, 2])", tests=CASE))
    assert any("应有 3 个档位值" in m for m in msgs)


def test_listed_since_without_its_listed_guard_is_a_warning():
    """Off the list a firm has no listing date: without listed(…) beside it the clause stays
    unknown for every such firm instead of ineligible (the 广州 四上 clause, #14)."""
    bare = findings(clause('listed_since("专精特新小巨人") >= 2023-01-01', tests=CASE))
    assert any('没有同时要求 listed("专精特新小巨人")' in m for m in bare)
    guarded = ['listed("专精特新小巨人") and listed_since("专精特新小巨人") >= 2023-01-01',
               'employees > 1 and (listed("专精特新小巨人") and year_of(listed_since("专精特新小巨人")) == 2023)',
               'if listed("专精特新小巨人") then listed_since("专精特新小巨人") >= 2023-01-01 else false']
    for when in guarded:
        assert not any("listed_since" in m for m in findings(clause(when, tests=CASE))), when
    other_list = 'listed("严重违法失信名单") and listed_since("专精特新小巨人") >= 2023-01-01'
    assert any("没有同时要求" in m for m in findings(clause(other_list, tests=CASE)))
    in_an_or = 'listed("专精特新小巨人") or listed_since("专精特新小巨人") >= 2023-01-01'
    assert any("没有同时要求" in m for m in findings(clause(in_an_or, tests=CASE)))


def test_a_regional_value_keyed_by_no_region_code_is_an_error():
    params = {"rate": {"label": "标准", "unit": "money", "source": "x",
                       "values": {"2020-01-01": {"default": 1500, "烟台": 1000, "3706": 900, "370600": 800}}}}
    msgs = findings(clause("true", 'param("rate")', tests=CASE), parameters=params)
    bad = [m for m in msgs if "不是 6 位行政区划代码" in m]
    assert len(bad) == 2 and any("“烟台”" in m for m in bad) and any("“3706”" in m for m in bad)
