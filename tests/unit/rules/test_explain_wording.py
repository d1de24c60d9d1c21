"""Explanations a firm can act on (#14 point 3), on the real 稳岗返还 clause: a parameter switch
is not given as a reason, and a failed “or” is one reason whose branches are joined by 或."""

from datetime import date
from pathlib import Path

from zhida.catalog import load_schema
from zhida.rules.evaluate.engine import compile_policies
from zhida.rules.explanation.explain import explain_frame
from zhida.rules.model.facts import build_frame
from zhida.rules.model.policy import load_policy_file

ROOT = Path(__file__).resolve().parents[3]
POLICY = load_policy_file(ROOT / "policies" / "cn-hrss-2024-40-job-retention.yaml")
SCHEMA = load_schema(ROOT / "zones")
AS_OF = date(2024, 6, 30)
SME = "cn-hrss-2024-40-job-retention/refund-sme"


def explain(**facts):
    compiled = compile_policies([POLICY], SCHEMA, AS_OF)
    doc = {"facts": {"enterprise_size": {"2023": "小型"}, "ui_full_months": {"2023": 12},
                     "layoff_rate": {"2023": "1%"}, "year_end_insured": {"2023": 100},
                     "ui_paid_year": {"2023": 10000}, **facts}, "lists": {"严重违法失信名单": []}}
    frame = build_frame([doc], compiled.requirements, SCHEMA, AS_OF)
    return next(e for e in explain_frame(compiled, frame) if e.key == SME)


def test_a_parameter_switch_is_not_a_reason_the_fact_beside_it_is():
    e = explain(ui_full_months={"2023": 6})
    assert e.status == "ineligible"
    assert e.reasons == ["年度足额缴费月数[2023] 6，需 ≥ 12"]
    assert not any("param(" in r for r in e.reasons)


def test_a_failed_or_is_one_reason_with_its_branches_joined_by_or():
    e = explain(layoff_rate={"2023": "10%"}, year_end_insured={"2023": 100})
    assert e.status == "ineligible"
    assert len(e.reasons) == 1
    assert e.reasons[0].startswith("以下条件满足其一即可，均不满足：裁员率[2023]")
    assert "；或 年末参保人数[2023] 100，需 ≤ 30" in e.reasons[0]


def test_a_district_code_is_shown_with_its_name():
    nanshan = load_policy_file(ROOT / "policies" / "shenzhen-nanshan-2022-rent-subsidy.yaml")
    compiled = compile_policies([nanshan], SCHEMA, date(2022, 3, 28))
    doc = {"facts": {"district_code": "440304", "established_on": "2019-06-01", "is_individual_business": False,
                     "enterprise_size": {"2021": "小型"}, "tax_paid_monthly": {"2021-06": 1200},
                     "address_sole_claimant": True, "lessor_state_owned": False, "monthly_rent": 20000}}
    frame = build_frame([doc], compiled.requirements, SCHEMA, date(2022, 3, 28))
    e = next(x for x in explain_frame(compiled, frame) if x.key.endswith("/small-micro"))
    assert e.status == "ineligible"
    assert e.reasons == ["所属区县代码 440304（深圳市福田区），需 = 440305（深圳市南山区）"]


def test_a_computed_quantity_is_shown_with_labels_and_resolved_periods_not_as_code():
    """扩岗补助: “新扩岗人数 − 已领吸纳补贴人数 ≥ 1” reads with the fields' labels, not as
    `expansion_hires_1m[this_year] - absorption_subsidy_hires[this_year]`."""
    expansion = load_policy_file(ROOT / "policies" / "cn-hrss-2023-job-expansion.yaml")
    as_of = date(2023, 9, 30)
    compiled = compile_policies([expansion], SCHEMA, as_of)
    doc = {"facts": {"district_code": "330302", "expansion_hires_1m": {"2023": 2},
                     "absorption_subsidy_hires": {"2023": 2}}}
    frame = build_frame([doc], compiled.requirements, SCHEMA, as_of)
    e = next(x for x in explain_frame(compiled, frame) if x.status == "ineligible")
    label_1m = SCHEMA.fields["expansion_hires_1m"].label
    label_abs = SCHEMA.fields["absorption_subsidy_hires"].label
    assert f"{label_1m}[2023] - {label_abs}[2023] 0，需 ≥ 1" in e.reasons
    assert not any("expansion_hires_1m" in r or "this_year" in r for r in e.reasons)
