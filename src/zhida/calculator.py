"""政策计算器: a visitor answers questions and sees which clauses it qualifies for — asked only
what decides.

    result = calculate(policies, schema, as_of, answers={"enterprise_size@2023": "小型", …})
    result.clauses     # each clause: 可享受 (with the amount) / 不符合 (why) / 还需回答
    result.questions   # the next questions: only facts still unknown in a clause not yet decided

Every answer is one frame column (`enterprise_size@2023`, `list@高新技术企业`, `tag@僵尸企业`) and
goes through the same fact encoding and the same compiled rules as a match run, with Kleene
logic: a clause whose `and` already has a false condition is decided, so its other facts are
never asked; an unanswered fact stays unknown, never 0 or "no". Nothing is stored.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import polars as pl

from zhida.rules.engine import compile_policies
from zhida.rules.errors import FrameError
from zhida.rules.explain import ClauseExplanation, explain_frame
from zhida.rules.facts import build_frame, encode
from zhida.rules.policy import Policy
from zhida.rules.schema import Schema

YES, NO = "是", "否"
KINDS = {"money": "金额（元，可写“300万”）", "count": "人数/个数", "number": "数值", "percent": "比例（如 5.5%）",
         "bool": "是/否", "date": "日期（YYYY-MM-DD）", "code": "选择", "text": "文字"}


@dataclass(frozen=True)
class Question:
    column: str                 # the frame column the answer fills
    label: str                  # 企业规模[2023]
    kind: str                   # money | count | number | percent | bool | date | code | text | list | tag | zone
    options: tuple[str, ...]    # choices for code / yes-no questions
    hint: str
    clauses: int                # how many undecided clauses read it


@dataclass(frozen=True)
class ClauseResult:
    key: str
    policy_id: str
    policy_title: str
    title: str
    mode_label: str
    status: str                 # eligible | ineligible | unknown | excluded
    amount_fen: int | None
    reasons: tuple[str, ...]


@dataclass
class Calculation:
    as_of: date
    clauses: list[ClauseResult]
    questions: list[Question]
    errors: dict[str, str] = field(default_factory=dict)   # column → what is wrong with its answer
    labels: dict[str, str] = field(default_factory=dict)   # answered column → its label

    @property
    def eligible_fen(self) -> int:
        return sum(c.amount_fen or 0 for c in self.clauses if c.status == "eligible")

    @property
    def decided(self) -> bool:
        return not any(c.status == "unknown" for c in self.clauses)


def calculate(policies: Sequence[Policy], schema: Schema, as_of: date, answers: Mapping[str, str], *,
              max_questions: int = 6) -> Calculation:
    compiled = compile_policies(policies, schema, as_of)
    answers = {k: v.strip() for k, v in answers.items() if v and v.strip()}
    doc, overrides, errors = answer_facts(schema, as_of, answers)
    df = build_frame([doc], compiled.requirements, schema, as_of)
    df = df.with_columns([pl.lit(v, dtype=pl.Boolean()).alias(c) for c, v in overrides.items() if c in df.columns])
    explained = explain_frame(compiled, df)
    row = df.row(0, named=True)
    amount_inputs = {c.key: [col for col in c.amount_columns if row.get(col) is None] for c in compiled.clauses}
    return Calculation(as_of=as_of, clauses=[_result(e) for e in explained],
                       questions=_questions(explained, amount_inputs, schema, answers, errors, max_questions),
                       errors=errors, labels={column: _label(column, schema) for column in answers})


def _result(e: ClauseExplanation) -> ClauseResult:
    return ClauseResult(key=e.key, policy_id=e.policy_id, policy_title=e.policy_title, title=e.title,
                        mode_label=e.mode_label, status=e.status, amount_fen=e.amount_fen, reasons=tuple(e.reasons))


def answer_facts(schema: Schema, as_of: date, answers: Mapping[str, str]
           ) -> tuple[dict[str, Any], dict[str, bool], dict[str, str]]:
    """Answers → a fact document (fields, lists) plus tag/zone columns set directly (a fact
    document can only say "no tags at all"), and the answers that could not be read."""
    facts: dict[str, Any] = {}
    lists: dict[str, list[dict[str, str]]] = {}
    overrides: dict[str, bool] = {}
    errors: dict[str, str] = {}
    for column, text in answers.items():
        kind, _, name = column.partition("@")
        try:
            if kind in ("tag", "zone", "received"):   # received@政策/条款: already paid for it
                overrides[column] = _yes_no(text, column)
            elif kind == "list":
                if _yes_no(text, column):
                    lists.setdefault(name, []).append({"from": "1900-01-01"})
                else:
                    lists.setdefault(name, [])
            elif kind == "list_since":
                since = date.fromisoformat(text)
                if since > as_of:
                    raise FrameError(f"列入日期 {text} 晚于评估日 {as_of}")
                lists[name] = [{"from": text}]
            else:
                f = schema.fields.get(kind)
                if f is None:
                    continue                              # not a fact of this pack: ignore
                encode(f, text, f.label)                  # checked here, encoded again by build_frame
                if name:
                    facts.setdefault(kind, {})[name] = text
                else:
                    facts[kind] = text
        except (FrameError, ValueError) as e:
            errors[column] = str(e) if isinstance(e, FrameError) else f"“{text}”不是有效的日期（YYYY-MM-DD）"
    return {"facts": facts, "lists": lists}, overrides, errors


def _yes_no(text: str, column: str) -> bool:
    if text in (YES, "true", "1"):
        return True
    if text in (NO, "false", "0"):
        return False
    raise FrameError(f"请回答“是”或“否”（{column}）")


def _questions(explained: Sequence[ClauseExplanation], amount_inputs: Mapping[str, list[str]], schema: Schema,
               answers: Mapping[str, str], errors: Mapping[str, str], limit: int) -> list[Question]:
    """Facts still unknown in clauses not yet decided — in their undecided conditions first,
    then what their amounts are computed from — the most widely read first."""
    seen: dict[str, str] = {}
    reads: Counter[str] = Counter()

    def ask(column: str, label: str) -> None:
        if column not in answers or column in errors:
            seen.setdefault(column, label)
            reads[column] += 1

    for e in explained:
        if e.status != "unknown":
            continue
        for atom in e.atoms:
            if atom.verdict is None:
                for fact in atom.facts:
                    if fact.missing:
                        ask(fact.column, fact.label)
        for column in amount_inputs.get(e.key, []):
            ask(column, _label(column, schema))
    order = sorted(seen, key=lambda c: (-reads[c], list(seen).index(c)))
    return [_question(c, seen[c], schema, reads[c], errors.get(c, "")) for c in order[:limit]]


def _label(column: str, schema: Schema) -> str:
    kind, _, name = column.partition("@")
    if kind in ("list", "list_since"):
        return f"名单“{name}”" + ("（列入日期）" if kind == "list_since" else "")
    if kind in ("tag", "zone"):
        return f"{'标签' if kind == 'tag' else '区域'}“{name}”"
    if kind == "received":
        return f"已获资金“{name}”"
    f = schema.fields.get(kind)
    return (f.label if f else kind) + (f"[{name}]" if name else "")


def _question(column: str, label: str, schema: Schema, clauses: int, error: str) -> Question:
    kind, _, _name = column.partition("@")
    if kind in ("list", "tag", "zone"):
        return Question(column, label, kind, (YES, NO), error or "是否属于", clauses)
    if kind == "received":
        return Question(column, label, kind, (YES, NO), error or "是否已获得过该项资金", clauses)
    if kind == "list_since":
        return Question(column, label, "date", (), error or "列入名单的日期（YYYY-MM-DD）", clauses)
    f = schema.fields[kind]
    options = tuple(f.codes or ()) if f.type == "code" else (YES, NO) if f.type == "bool" else ()
    return Question(column, label, f.type, options, error or KINDS.get(f.type, ""), clauses)
