from __future__ import annotations

from datetime import date
from typing import Any

from zhida.rules.evaluate.engine import compile_policies
from zhida.rules.explanation.explain import explain_frame
from zhida.rules.lang.schema import Field, ListDef, Schema
from zhida.rules.model.facts import build_frame
from zhida.rules.model.policy import parse_policy

AS_OF = date(2024, 6, 1)

SCHEMA = Schema.build(
    [
        Field("employees", "参保人数", "count"),
        Field("revenue", "营业收入", "money", "year"),
        Field("ui_paid", "失业保险缴费", "money", "year"),
        Field("insured", "月参保人数", "count", "month"),
        Field("paid_flag", "当月缴费", "bool", "month"),
        Field("wage_paid", "月缴费额", "money", "month", missing="zero"),
        Field("layoff_rate", "裁员率", "percent", "year"),
        Field("district_code", "区县代码", "code"),
        Field("industry_code", "行业代码", "code"),
        Field("established", "成立日期", "date"),
        Field("high_tech", "高新技术企业", "bool"),
        Field("size", "企业规模", "code"),
    ],
    [ListDef("专精特新小巨人"), ListDef("严重违法失信名单")],
    tags=["僵尸企业"],
    zones=["封控区"],
)


def policy(clauses: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": "demo", "title": "演示政策", "issuer": "演示", "document_number": "演示〔2024〕1号",
        "region": "330300", "source_url": "https://example.invalid/p", "valid_from": "2020-01-01",
        "department": "演示局", "clauses": clauses,
    }
    doc.update(extra)
    return doc


def clause(when: str, amount: str = "0", **extra: Any) -> dict[str, Any]:
    c: dict[str, Any] = {"id": extra.pop("id", "c"), "title": extra.pop("title", "条款"), "mode": "exempt",
                         "when": when, "amount": amount}
    c.update(extra)
    return c


def compile_frame(doc: dict[str, Any], facts: list[dict[str, Any]], as_of: date = AS_OF):
    """(the compiled policy, the frame of the fact documents)."""
    compiled = compile_policies([parse_policy(doc)], SCHEMA, as_of)
    return compiled, build_frame(facts, compiled.requirements, SCHEMA, as_of)


def run(doc: dict[str, Any], facts: list[dict[str, Any]], as_of: date = AS_OF):
    """(batch results keyed by (row, clause), explanations per row) for fact documents."""
    compiled, df = compile_frame(doc, facts, as_of)
    batch = {(r["row"], r["clause"]): r for r in compiled.evaluate(df, diagnose=True).iter_rows(named=True)}
    explained = [{e.key: e for e in explain_frame(compiled, df, i)} for i in range(len(facts))]
    return batch, explained

