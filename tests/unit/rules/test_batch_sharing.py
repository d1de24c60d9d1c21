"""The batch engine computes each distinct atom of a pack once and rounds a batch's pairs in
one query; what it returns stays what the reference interpreter returns (method="rows")."""

from __future__ import annotations

from typing import Any

from tests.unit.rules.support import AS_OF, SCHEMA, clause, policy

from zhida.rules.evaluate.engine import compile_policies
from zhida.rules.model.facts import build_frame
from zhida.rules.model.policy import parse_policy


def batch_and_rows(docs: list[dict[str, Any]], facts: list[dict[str, Any]]):
    """(the compiled pack, its batch results as (row, clause, status, amount_fen) tuples),
    asserting the interpreter gives the same."""
    compiled = compile_policies([parse_policy(d) for d in docs], SCHEMA, AS_OF)
    df = build_frame(facts, compiled.requirements, SCHEMA, AS_OF)
    batch = compiled.evaluate(df, method="batch").select("row", "clause", "status", "amount_fen").rows()
    rows = compiled.evaluate(df, method="rows").select("row", "clause", "status", "amount_fen").rows()
    assert batch == rows
    return compiled, batch


def test_an_atom_written_in_several_clauses_is_computed_once_and_decides_each():
    docs = [policy([clause("employees >= 10 and revenue[last_year] >= 100", "1", id="x", stackable=True),
                    clause("employees >= 10", "2", id="y", stackable=True)], id="a"),
            policy([clause("employees >=  10", "3", stackable=True)], id="b")]  # spelt differently
    facts = [{"facts": {"employees": 12, "revenue": {"2023": "50"}}}, {"facts": {"employees": 9}},
             {"facts": {"revenue": {"2023": "500"}}}]
    compiled, got = batch_and_rows(docs, facts)
    assert len(compiled.shared.atoms) == 2  # employees >= 10 (three times), revenue[last_year] >= 100
    assert got == [(2, "a/x", "unknown", 100), (0, "a/y", "eligible", 200), (2, "a/y", "unknown", 200),
                   (0, "b/c", "eligible", 300), (2, "b/c", "unknown", 300)]  # by clause, then row


def test_the_same_atom_over_a_parameter_is_not_shared_between_policies():
    def with_threshold(policy_id: str, value: str) -> dict[str, Any]:
        params = {"t": {"label": "门槛", "unit": "count", "source": "测试", "values": {2020: value}}}
        return policy([clause('employees >= param("t")', "1")], id=policy_id, parameters=params)

    compiled, got = batch_and_rows([with_threshold("a", "10"), with_threshold("b", "20")],
                                   [{"facts": {"employees": 15}}])
    assert len(compiled.shared.atoms) == 2
    assert got == [(0, "a/c", "eligible", 100)]


def test_rounding_to_wan_an_amount_with_many_decimals_is_exact():
    # ÷ 3 gives 12 decimals, × 33.333% five more: rounding to 万 divides by 10^21 (beyond Int64)
    doc = policy([clause("true", "ui_paid[last_year] / 3 * 33.333%", id="wan", stackable=True,
                         rounding={"unit": "wan", "mode": "half_up"}),
                  clause("true", "ui_paid[last_year] * 10%", id="fen", stackable=True)])
    _, got = batch_and_rows([doc], [{"facts": {"ui_paid": {"2023": "300万"}}}])
    assert got == [(0, "demo/wan", "eligible", 33_000_000), (0, "demo/fen", "eligible", 30_000_000)]
