"""The 政策计算器 on a one-off award: it asks whether the firm already received it."""

from datetime import date
from pathlib import Path

from zhida import catalog
from zhida.calculator import calculate
from zhida.rules.model.policy import load_policies

ROOT = Path(__file__).parents[2]
KEY = "wenzhou-2023-8-specialized/little-giant"


def test_the_calculator_asks_whether_a_one_off_award_was_already_received():
    pack = [p for p in load_policies([ROOT / "policies"]) if p.id == "wenzhou-2023-8-specialized"]
    schema = catalog.load_schema(ROOT / "zones")
    base = {"district_code": "330302", "established_on": "2023-03-01", "list@专精特新小巨人": "是",
            "list_since@专精特新小巨人": "2024-05-20"}
    first = calculate(pack, schema, date(2024, 6, 30), base, max_questions=20)
    asked = {q.column: q for q in first.questions}
    assert asked[f"received@{KEY}"].label == f"已获资金“{KEY}”"
    unpaid = calculate(pack, schema, date(2024, 6, 30), {**base, f"received@{KEY}": "否"})
    assert {c.key: c.status for c in unpaid.clauses}[KEY] == "eligible"
    paid = calculate(pack, schema, date(2024, 6, 30), {**base, f"received@{KEY}": "是"})
    assert {c.key: c.status for c in paid.clauses}[KEY] == "ineligible"
