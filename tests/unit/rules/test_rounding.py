"""Amounts beyond what integer fen can hold (±9.2×10^16 yuan) are never real awards: the batch
engine refuses them naming the clause and the firm, instead of failing inside a cast."""

from __future__ import annotations

import pytest

from zhida.rules.lang.errors import AmountOverflow

from .support import clause, compile_frame, policy


def test_an_amount_beyond_integer_fen_is_refused_naming_the_clause_and_the_firm():
    doc = policy([clause("revenue[last_year] > 0", "revenue[last_year] * 10000", id="all")])
    firms = [{"uscc": "913303000000000001", "facts": {"revenue": {"2023": "1000万"}}},
             {"uscc": "913303000000000002", "facts": {"revenue": {"2023": "1000000000万"}}}]   # 10^13 yuan × 10^4
    compiled, df = compile_frame(doc, firms)
    with pytest.raises(AmountOverflow, match=r"金额超出可表示范围.*条款 demo/all 第 2 行（企业 913303000000000002）"):
        compiled.evaluate(df, method="batch")


def test_amounts_within_integer_fen_are_computed_in_the_same_batch():
    doc = policy([clause("revenue[last_year] > 0", "revenue[last_year] * 1000", id="all")])
    compiled, df = compile_frame(doc, [{"uscc": "913303000000000001", "facts": {"revenue": {"2023": "1亿"}}}])
    [row] = compiled.evaluate(df, method="batch").to_dicts()
    assert row["amount_fen"] == 10**8 * 1000 * 100
