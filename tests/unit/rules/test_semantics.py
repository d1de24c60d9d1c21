"""Behaviour of the engine on hand-written cases; each checks both paths (batch and explanation)."""

from __future__ import annotations

from datetime import date

import pytest
from tests.unit.rules.support import clause, policy, run


def both(doc, facts, as_of=date(2024, 6, 1), key="demo/c"):
    """[(status, amount_fen)] per enterprise, asserting batch and explanation agree."""
    batch, explained = run(doc, facts, as_of)
    out = []
    for row, e in enumerate(explained):
        got = batch.get((row, key))
        b = (got["status"], got["amount_fen"]) if got else ("ineligible", None)
        x = (e[key].status, e[key].amount_fen if e[key].status != "ineligible" else None)
        assert b == x
        out.append(x)
    return out


def test_missing_fact_gives_unknown_never_ineligible_or_zero():
    doc = policy([clause("employees >= 10", "ui_paid[last_year] * 60%")])
    # Unknown, with the amount it would pay if the missing fact turns out to qualify.
    assert both(doc, [{"facts": {"ui_paid": {"2023": "10000"}}}]) == [("unknown", 600000)]
    assert both(doc, [{"facts": {}}]) == [("unknown", None)]


def test_missing_amount_input_makes_an_eligible_condition_unknown():
    doc = policy([clause("employees >= 10", "ui_paid[last_year] * 60%")])
    batch, explained = run(doc, [{"facts": {"employees": 12}}])
    assert batch[(0, "demo/c")]["status"] == "unknown"
    assert batch[(0, "demo/c")]["missing"] == ["ui_paid@2023"]
    assert explained[0]["demo/c"].missing == ["失业保险缴费[2023]"]


def test_false_atom_decides_even_when_others_are_unknown():
    doc = policy([clause("employees >= 10 and high_tech", "1000")])
    assert both(doc, [{"facts": {"employees": 3}}]) == [("ineligible", None)]


def test_true_branch_of_or_decides_even_when_the_other_is_unknown():
    doc = policy([clause("employees >= 10 or high_tech", "1000")])
    assert both(doc, [{"facts": {"employees": 30}}]) == [("eligible", 100000)]


def test_threshold_is_inclusive_at_the_line_and_exact_in_fen():
    doc = policy([clause("revenue[last_year] >= 510000", "1")])
    facts = [{"facts": {"revenue": {"2023": v}}} for v in ["509999.99", "510000", "510000.01"]]
    assert [s for s, _ in both(doc, facts)] == ["ineligible", "eligible", "eligible"]


def test_constant_with_more_decimals_than_the_field_compares_exactly():
    doc = policy([clause("revenue[last_year] > 100.005", "1")])
    facts = [{"facts": {"revenue": {"2023": v}}} for v in ["100.00", "100.01"]]
    assert [s for s, _ in both(doc, facts)] == ["ineligible", "eligible"]


@pytest.mark.parametrize(("unit", "mode", "fen"), [
    ("fen", "half_up", 333334), ("fen", "half_even", 333334), ("fen", "down", 333333),
    ("yuan", "half_up", 333300), ("yuan", "up", 333400), ("hundred_yuan", "down", 330000),
    ("wan", "half_up", 0),
])
def test_rounding_unit_and_mode(unit, mode, fen):
    doc = policy([clause("true", "ui_paid[last_year] / 3", rounding={"unit": unit, "mode": mode})])
    assert both(doc, [{"facts": {"ui_paid": {"2023": "10000.01"}}}]) == [("eligible", fen)]


def test_half_up_rounds_halves_away_from_zero_to_the_fen():
    doc = policy([clause("true", "ui_paid[last_year] * 50%")])
    assert both(doc, [{"facts": {"ui_paid": {"2023": "0.01"}}}]) == [("eligible", 1)]


def test_clause_cap_limits_the_amount():
    doc = policy([clause("true", "ui_paid[last_year] * 60%", cap="100万")])
    assert both(doc, [{"facts": {"ui_paid": {"2023": "5000万"}}}]) == [("eligible", 100_000_000)]


def test_tier_steps_at_and_around_each_threshold():
    doc = policy([clause("true", "tier(revenue[last_year], [1000万, 5000万], [0, 20万, 40万])")])
    facts = [{"facts": {"revenue": {"2023": v}}} for v in ["9999999.99", "1000万", "5000万", "6000万"]]
    assert [a for _, a in both(doc, facts)] == [0, 20_000_000, 40_000_000, 40_000_000]


def test_missing_tier_input_is_unknown_not_lowest_step():
    doc = policy([clause("true", "tier(revenue[last_year], [1000万], [10, 20])")])
    assert both(doc, [{"facts": {}}]) == [("unknown", None)]


def test_min_is_unknown_when_any_input_is_unknown():
    doc = policy([clause("true", "min(ui_paid[last_year], 100)")])
    assert both(doc, [{"facts": {}}]) == [("unknown", None)]


def test_dated_parameter_changes_with_the_evaluation_date_and_region():
    params = {"rate": {"label": "比例", "unit": "percent", "source": "测试",
                       "values": {2022: "50%", 2024: {"default": "60%", "330302": "70%"}}}}
    doc = policy([clause("true", "ui_paid[last_year] * param(\"rate\")")], parameters=params)
    facts = [{"facts": {"ui_paid": {"2023": "100", "2021": "100"}, "district_code": d}} for d in ["330302", "330381"]]
    assert both(doc, facts) == [("eligible", 7000), ("eligible", 6000)]
    old = [{"facts": {"ui_paid": {"2022": "100"}, "district_code": "330302"}}]
    assert both(doc, old, as_of=date(2023, 6, 1)) == [("eligible", 5000)]


def test_list_never_loaded_is_unknown_and_loaded_list_is_closed_world():
    doc = policy([clause('not listed("严重违法失信名单")', "1")])
    facts = [{"facts": {}}, {"facts": {}, "lists": {"严重违法失信名单": []}},
             {"facts": {}, "lists": {"严重违法失信名单": [{"from": "2023-01-01"}]}}]
    assert [s for s, _ in both(doc, facts)] == ["unknown", "eligible", "ineligible"]


def test_list_membership_is_as_of_the_evaluation_date():
    doc = policy([clause('listed("专精特新小巨人")', "1")])
    spans = {"专精特新小巨人": [{"from": "2024-07-01"}]}
    assert both(doc, [{"facts": {}, "lists": spans}], as_of=date(2024, 6, 1)) == [("ineligible", None)]
    assert both(doc, [{"facts": {}, "lists": spans}], as_of=date(2024, 8, 1)) == [("eligible", 100)]
    ended = {"专精特新小巨人": [{"from": "2020-01-01", "to": "2023-12-31"}]}
    assert both(doc, [{"facts": {}, "lists": ended}], as_of=date(2024, 6, 1)) == [("ineligible", None)]


def test_first_listed_date_distinguishes_first_recognition():
    doc = policy([clause('listed_since("专精特新小巨人") >= 2023-01-01', "100万")])
    facts = [{"facts": {}, "lists": {"专精特新小巨人": [{"from": d}]}} for d in ["2023-07-01", "2021-07-01"]]
    assert [s for s, _ in both(doc, facts)] == ["eligible", "ineligible"]


def test_monthly_range_aggregates_and_missing_zero_fields():
    doc = policy([clause("sum(wage_paid[months(-3..-1)]) >= 300", "sum(wage_paid[months(-3..-1)])")])
    full = {"facts": {"wage_paid": {"2024-03": 100, "2024-04": 100, "2024-05": 100}}}
    gap = {"facts": {"wage_paid": {"2024-03": 100, "2024-05": 100}}}  # declared missing: zero
    assert both(doc, [full, gap]) == [("eligible", 30000), ("ineligible", None)]


def test_count_of_months_meeting_a_condition():
    doc = policy([clause("count(insured[months(-3..-1)] > 0) >= 3", "1")])
    facts = [{"facts": {"insured": {"2024-03": 5, "2024-04": 5, "2024-05": 5}}},
             {"facts": {"insured": {"2024-03": 5, "2024-04": 0, "2024-05": 5}}},
             {"facts": {"insured": {"2024-03": 5, "2024-05": 5}}}]
    assert [s for s, _ in both(doc, facts)] == ["eligible", "ineligible", "unknown"]


def test_years_since_counts_whole_years_to_the_evaluation_date():
    doc = policy([clause("years_since(established) >= 3", "1")])
    facts = [{"facts": {"established": d}} for d in ["2021-06-01", "2021-06-02"]]
    assert [s for s, _ in both(doc, facts)] == ["eligible", "ineligible"]


def test_zone_and_tag_membership():
    doc = policy([clause('within("封控区") and not tagged("僵尸企业")', "1万")])
    facts = [{"facts": {}, "zones": ["封控区"], "tags": []}, {"facts": {}, "zones": [], "tags": []},
             {"facts": {}, "tags": []}]
    assert [s for s, _ in both(doc, facts)] == ["eligible", "ineligible", "unknown"]


def test_policy_outside_its_validity_is_ineligible_for_everyone():
    doc = policy([clause("true", "1")], valid_to="2023-12-31")
    assert both(doc, [{"facts": {}}], as_of=date(2024, 6, 1)) == [("ineligible", None)]


def test_exclusive_group_pays_only_the_highest():
    doc = policy([
        clause("true", "10万", id="a", exclusive={"group": "g", "rule": "highest"}),
        clause("true", "50万", id="b", exclusive={"group": "g", "rule": "highest"}),
        clause("employees >= 1", "100万", id="c", exclusive={"group": "g", "rule": "highest"}),
    ])
    batch, explained = run(doc, [{"facts": {"employees": 0}}, {"facts": {"employees": 5}}])
    assert {k: r["status"] for (row, k), r in batch.items() if row == 0} == {"demo/a": "excluded",
                                                                          "demo/b": "eligible"}
    assert {k: r["status"] for (row, k), r in batch.items() if row == 1} == {
        "demo/a": "excluded", "demo/b": "excluded", "demo/c": "eligible"}
    assert explained[1]["demo/b"].status == "excluded"
    assert any("不重复享受" in r for r in explained[1]["demo/b"].reasons)


def test_priority_rule_pays_the_lowest_priority_number_whatever_the_amount():
    doc = policy([
        clause("true", "10万", id="a", exclusive={"group": "g", "rule": "priority", "priority": 1}),
        clause("true", "50万", id="b", exclusive={"group": "g", "rule": "priority", "priority": 2}),
    ])
    batch, _ = run(doc, [{"facts": {}}])
    assert batch[(0, "demo/a")]["status"] == "eligible" and batch[(0, "demo/b")]["status"] == "excluded"


def test_enterprise_cap_is_granted_in_clause_order_and_unknown_when_cap_unknown():
    doc = policy([clause("true", "100万", id="a", stackable=True), clause("true", "50万", id="b", stackable=True)],
                 enterprise_cap={"amount": "ui_paid[last_year]", "when": "years_since(established) > 3"})
    facts = [
        {"facts": {"ui_paid": {"2023": "120万"}, "established": "2010-01-01"}},   # capped: 100万 + 20万
        {"facts": {"ui_paid": {"2023": "120万"}, "established": "2022-01-01"}},   # young firm: no cap
        {"facts": {"established": "2010-01-01"}},                                 # cap unknown
    ]
    batch, explained = run(doc, facts)
    got = {(r, k): (v["status"], v["amount_fen"]) for (r, k), v in batch.items()}
    assert got[(0, "demo/a")] == ("eligible", 100_000_000) and got[(0, "demo/b")] == ("eligible", 20_000_000)
    assert got[(1, "demo/a")] == ("eligible", 100_000_000) and got[(1, "demo/b")] == ("eligible", 50_000_000)
    assert got[(2, "demo/a")][0] == "unknown" and got[(2, "demo/b")][0] == "unknown"
    assert explained[0]["demo/b"].amount_fen == 20_000_000


def test_division_by_zero_is_unknown():
    doc = policy([clause("ui_paid[last_year] / employees >= 100", "1")])
    assert both(doc, [{"facts": {"ui_paid": {"2023": 500}, "employees": 0}}]) == [("unknown", 100)]


def test_products_beyond_int64_stay_exact():
    # 90万亿 yuan × 99.99%: the intermediate (fen × 10^4) exceeds Int64; the engine widens.
    doc = policy([clause("true", "ui_paid[last_year] * 99.99%")])
    assert both(doc, [{"facts": {"ui_paid": {"2023": "90万亿"}}}]) == [("eligible", 8_999_100_000_000_000)]


def test_a_subset_of_compiled_clauses_evaluates_on_its_own():
    # The matching service re-evaluates only the clauses a change touches.
    from dataclasses import replace

    from tests.unit.rules.support import SCHEMA

    from zhida.rules.evaluate.engine import compile_policies
    from zhida.rules.model.facts import build_frame
    from zhida.rules.model.policy import parse_policy

    doc = policy([clause("employees >= 1", "1", id="a", stackable=True),
                  clause("employees >= 2", "2", id="b", stackable=True)])
    compiled = compile_policies([parse_policy(doc)], SCHEMA, date(2024, 6, 1))
    only_b = replace(compiled, clauses=[c for c in compiled.clauses if c.clause.spec.id == "b"])
    df = build_frame([{"facts": {"employees": 5}}], only_b.requirements, SCHEMA, date(2024, 6, 1))
    out = only_b.evaluate(df)
    assert out.select("clause", "amount_fen").rows() == [("demo/b", 200)]


def test_abs_measures_a_change_either_way_and_unknown_stays_unknown():
    """abs(): a fall counts like a rise; a missing year keeps the clause unknown (both engines)."""
    doc = policy([clause("abs(revenue[2023] - revenue[2022]) >= 100", "abs(revenue[2023] - revenue[2022]) * 2")])
    facts = [{"facts": {"revenue": {"2023": "300", "2022": "100"}}},      # rise of 200
             {"facts": {"revenue": {"2023": "100", "2022": "300"}}},      # fall of 200
             {"facts": {"revenue": {"2023": "150", "2022": "100.01"}}},   # change of 49.99
             {"facts": {"revenue": {"2023": "150"}}}]                    # 2022 missing
    assert both(doc, facts) == [("eligible", 40_000), ("eligible", 40_000), ("ineligible", None), ("unknown", None)]


def test_quarterly_avg_is_the_tax_rules_average_of_quarter_start_and_end_values():
    """全年季度平均值 (财税〔2019〕13号): (Dec of the year before ÷ 2 + Mar + Jun + Sep + Dec ÷ 2) ÷ 4 —
    here (100/2 + 120 + 140 + 160 + 180/2) / 4 = 140 — on both engines; a missing month is unknown,
    and only that month is asked for."""
    doc = policy([clause("quarterly_avg(insured[last_year]) <= 140", "quarterly_avg(insured[2023]) * 100")])
    months = {"2022-12": 100, "2023-03": 120, "2023-06": 140, "2023-09": 160, "2023-12": 180,
              "2023-01": 9999, "2023-02": 9999}                          # other months are not read
    facts = [{"facts": {"insured": months}},
             {"facts": {"insured": months | {"2023-12": 184}}},          # average 141: above
             {"facts": {"insured": {k: v for k, v in months.items() if k != "2023-06"}}}]
    assert both(doc, facts) == [("eligible", 1_400_000), ("ineligible", None), ("unknown", None)]
    _, explained = run(doc, facts)
    assert explained[2]["demo/c"].missing == ["月参保人数[2023-06]"]


def test_quarterly_avg_wants_a_monthly_field_with_a_year():
    from zhida.rules.lang.errors import ExpressionError
    from zhida.rules.lang.parse import parse

    for bad in ("quarterly_avg(insured[months(-12..-1)])", "quarterly_avg(insured)", "quarterly_avg(1)",
                "quarterly_avg(insured[2023-03])"):
        with pytest.raises(ExpressionError, match="quarterly_avg 需要一个按月记录的字段并指明年度"):
            parse(bad)


def test_months_since_counts_whole_months_to_as_of_for_dates_relative_to_an_event():
    """“列入后2个月内”: months_since(listed_since(…)) < 2, on both engines; a month counts once
    as_of reaches the day of the month (2024-04-01 → 2024-06-01 is 2; 2024-04-02 → 1)."""
    doc = policy([clause('listed("专精特新小巨人") and months_since(listed_since("专精特新小巨人")) < 2',
                         "months_since(established) * 100")])
    firm = {"facts": {"established": "2023-06-02"}}                       # 11 whole months on 2024-06-01
    facts = [firm | {"lists": {"专精特新小巨人": [{"from": "2024-04-01"}]}},   # exactly 2 months: out
             firm | {"lists": {"专精特新小巨人": [{"from": "2024-04-02"}]}},   # 1 month and 30 days: in
             {"facts": {}, "lists": {"专精特新小巨人": [{"from": "2024-05-15"}]}}]  # established unknown
    assert both(doc, facts) == [("ineligible", None), ("eligible", 110_000), ("unknown", None)]


def test_months_since_at_month_ends_does_not_round_up():
    doc = policy([clause("months_since(established) >= 1", "1")])
    facts = [{"facts": {"established": "2024-01-31"}}, {"facts": {"established": "2024-01-29"}}]
    assert both(doc, facts, as_of=date(2024, 2, 29)) == [("ineligible", None), ("eligible", 100)]


def test_a_constant_compared_with_a_regional_parameter_gives_one_value_per_enterprise():
    """Polars 2.1 evaluated `literal <= when/then(categorical region …)` to a single value when
    every enterprise of the frame had the same unmatched region (a ShapeError in the batch);
    the compiler puts the column side first. Found by the relevance property test."""
    params = {"rate": {"label": "比例", "unit": "percent", "source": "测试",
                       "values": {"2020-01-01": {"default": "60%", "330302": "75%", "330300": "70%"}}}}
    doc = policy([clause('round(23.006, 2) <= param("rate") or employees > 5', "1")], parameters=params)
    firm = {"facts": {"district_code": "rate", "employees": 1}}
    assert both(doc, [firm, firm]) == [("ineligible", None), ("ineligible", None)]
