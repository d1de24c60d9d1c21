"""The 政策计算器 on a one-off award: it asks whether the firm already received it."""

from datetime import date
from pathlib import Path

from zhida import catalog
from zhida.calculator import calculate
from zhida.rules.model.policy import load_policies, parse_policy

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


def test_the_calculator_asks_how_much_was_already_received_for_a_cumulative_cap():
    """A cap on what was already received (received_amount): the calculator asks the amount,
    and the answer (in yuan, 万 allowed) decides the award."""
    doc = {"id": "cap-demo", "title": "累计上限演示", "issuer": "演示", "document_number": "演示〔2024〕2号",
           "region": "330300", "source_url": "https://example.invalid/cap", "valid_from": "2020-01-01",
           "department": "演示局", "clauses": [{
               "id": "top-up", "title": "累计不超过150万元", "mode": "exempt",
               "when": f'listed("专精特新小巨人") and received_amount("{KEY}") < 150万',
               "amount": f'min(80万, 150万 - received_amount("{KEY}"))'}]}
    pack = [parse_policy(doc)]
    schema = catalog.load_schema(ROOT / "zones")
    base = {"list@专精特新小巨人": "是"}
    first = calculate(pack, schema, date(2024, 6, 30), base, max_questions=20)
    [question] = [q for q in first.questions if q.column.startswith("received_total@")]
    assert question.kind == "money" and question.label == f"已获资金“{KEY}”"
    paid = calculate(pack, schema, date(2024, 6, 30), {**base, question.column: "100万"})
    [result] = paid.clauses
    assert (result.status, result.amount_fen) == ("eligible", 50_0000_00)
    refused = calculate(pack, schema, date(2024, 6, 30), {**base, question.column: "很多"})
    assert question.column in refused.errors
