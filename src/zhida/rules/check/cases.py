"""Policy test cases: facts → expected status, amount and reasons (like OpenFisca's YAML tests).

Every case runs through both paths — the whole-population engine and the single-enterprise
explanation — and fails if they disagree, so each case is also a differential test.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from zhida.rules.evaluate.engine import compile_policies
from zhida.rules.explanation.explain import ClauseExplanation, explain_frame
from zhida.rules.lang.errors import FrameError, PolicyError
from zhida.rules.lang.numbers import yuan_text
from zhida.rules.lang.schema import Schema
from zhida.rules.model.document import ExpectSpec
from zhida.rules.model.facts import build_frame
from zhida.rules.model.policy import Policy, money_fen


@dataclass
class CaseResult:
    policy: Policy
    name: str
    clause: str
    line: int | None
    diffs: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.diffs

    @property
    def where(self) -> str:
        return f"{self.policy.source}:{self.line}" if self.line else self.policy.source


@dataclass(frozen=True)
class Case:
    policy: Policy
    name: str
    as_of: date
    doc: Mapping[str, Any]
    expect: Mapping[str, ExpectSpec]  # clause id → expectation
    line: int | None


def cases_of(policy: Policy) -> list[Case]:
    out = []
    for i, clause in enumerate(policy.clauses):
        for j, t in enumerate(clause.spec.tests):
            out.append(Case(policy, t.name, t.as_of or policy.spec.valid_from, _doc(t),
                            {clause.spec.id: t.expect}, policy.line("clauses", i, "tests", j)))
    for j, pt in enumerate(policy.spec.tests):
        out.append(Case(policy, pt.name, pt.as_of or policy.spec.valid_from, _doc(pt), dict(pt.expect),
                        policy.line("tests", j)))
    return out


def _doc(t: Any) -> dict[str, Any]:
    return {"uscc": "case", "facts": t.facts, "lists": t.lists, "tags": t.tags, "zones": t.zones,
            "received": t.received}


def evaluate_doc(policies: Sequence[Policy], schema: Schema, doc: Mapping[str, Any],
                 as_of: date) -> tuple[list[ClauseExplanation], dict[str, tuple[str, int | None]]]:
    """Explain one enterprise's facts, and the batch engine's verdict for the same facts."""
    compiled = compile_policies(policies, schema, as_of)
    df = build_frame([doc], compiled.requirements, schema, as_of)
    batch = {r["clause"]: (r["status"], r["amount_fen"]) for r in compiled.evaluate(df).iter_rows(named=True)}
    return explain_frame(compiled, df), batch


def run_case(case: Case, schema: Schema) -> CaseResult:
    first = next(iter(case.expect))
    result = CaseResult(case.policy, case.name, first if len(case.expect) == 1 else "*", case.line)
    try:
        explanations, batch = evaluate_doc([case.policy], schema, case.doc, case.as_of)
    except (FrameError, PolicyError) as e:
        result.diffs.append(f"用例无法运行：{e}")
        return result
    by_clause = {e.clause_id: e for e in explanations}
    for clause_id, expect in case.expect.items():
        got = by_clause.get(clause_id)
        if got is None:
            result.diffs.append(f"条款 {clause_id} 不存在")
            continue
        prefix = f"[{clause_id}] " if len(case.expect) > 1 else ""
        if got.status != expect.status:
            result.diffs.append(f"{prefix}状态：期望 {expect.status}，实际 {got.status}"
                                + (f"（原因：{'；'.join(got.reasons)}）" if got.reasons else "")
                                + (f"（缺少：{'、'.join(got.missing)}）" if got.missing else ""))
        if expect.amount is not None:
            want = money_fen(expect.amount, "expect.amount")
            if got.amount_fen != want:
                shown = "无" if got.amount_fen is None else yuan_text(got.amount_fen)
                result.diffs.append(f"{prefix}金额：期望 {yuan_text(want)}，实际 {shown}")
        texts = got.reasons + [a.hint for a in got.atoms]
        for reason in expect.reasons:
            if not any(reason in t for t in texts):
                result.diffs.append(f"{prefix}原因中没有 “{reason}”；实际原因：{'；'.join(got.reasons) or '无'}")
        for item in expect.missing:
            if not any(item in m for m in got.missing):
                result.diffs.append(f"{prefix}缺失项中没有 “{item}”；实际缺失：{'、'.join(got.missing) or '无'}")
        key = f"{case.policy.id}/{clause_id}"
        batch_status, batch_amount = batch.get(key, ("ineligible", None))
        if (batch_status, batch_amount) != (got.status, got.amount_fen if got.status != "ineligible" else None):
            result.diffs.append(f"{prefix}批量引擎与单企业解释不一致：批量 {batch_status}/{batch_amount}，"
                                f"解释 {got.status}/{got.amount_fen}（请报告此缺陷）")
    return result


def run_cases(policies: Sequence[Policy], schema: Schema) -> list[CaseResult]:
    return [run_case(c, schema) for p in policies for c in cases_of(p)]
