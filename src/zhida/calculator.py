"""政策计算器: a visitor answers questions and sees which clauses it qualifies for — asked only
what decides.

    result = calculate(policies, schema, as_of, answers={"enterprise_size@2023": "小型", …})
    result.clauses     # each clause: 可享受 (with the amount) / 不符合 (why) / 还需回答
    result.questions   # the next questions: only facts still unknown in a clause not yet decided

Every answer is one frame column (`enterprise_size@2023`, `list@高新技术企业`, `tag@僵尸企业`) and
goes through the same fact encoding and the same compiled rules as a match run, with Kleene
logic; an unanswered fact stays unknown, never 0 or "no". Only facts that can still change an
undecided clause's result are asked (rules/explanation/relevance.py: a fact whose every answer leaves every
clause as it would be is never asked), the one whose answer decides most first. Nothing is stored.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction
from typing import Any

import polars as pl

from zhida.rules.evaluate.engine import compile_policies
from zhida.rules.explanation.explain import ClauseExplanation, explain_frame
from zhida.rules.lang.errors import FrameError
from zhida.rules.lang.schema import Schema
from zhida.rules.model.facts import build_frame, encode
from zhida.rules.model.policy import Policy, to_fraction

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
    clauses: int                # how many undecided clauses its answer can change
    decides: tuple[str, ...] = ()   # titles of the clauses an answer to it alone may settle


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
    df = df.with_columns([pl.lit(v, dtype=pl.Boolean() if isinstance(v, bool) else pl.Int64()).alias(c)
                          for c, v in overrides.items() if c in df.columns])
    explained = explain_frame(compiled, df)
    return Calculation(as_of=as_of, clauses=[_result(e) for e in explained],
                       questions=_questions(explained, schema, errors, max_questions),
                       errors=errors, labels={column: _label(column, schema) for column in answers})


def _result(e: ClauseExplanation) -> ClauseResult:
    return ClauseResult(key=e.key, policy_id=e.policy_id, policy_title=e.policy_title, title=e.title,
                        mode_label=e.mode_label, status=e.status, amount_fen=e.amount_fen, reasons=tuple(e.reasons))


def answer_facts(schema: Schema, as_of: date, answers: Mapping[str, str]
           ) -> tuple[dict[str, Any], dict[str, bool | int], dict[str, str]]:
    """Answers → a fact document (fields, lists) plus tag/zone columns set directly (a fact
    document can only say "no tags at all"), and the answers that could not be read."""
    facts: dict[str, Any] = {}
    lists: dict[str, list[dict[str, str]]] = {}
    overrides: dict[str, bool | int] = {}
    errors: dict[str, str] = {}
    for column, text in answers.items():
        kind, _, name = column.partition("@")
        try:
            if kind in ("tag", "zone", "received"):   # received@政策/条款: already paid for it
                overrides[column] = _yes_no(text, column)
            elif kind == "received_total":            # how much was paid for it (in the window): fen
                fen = to_fraction(text, "已获资金累计金额") * 100
                if fen.denominator != 1 or fen < 0:
                    raise FrameError(f"已获资金累计金额“{text}”应为不小于 0 的金额，最多两位小数")
                overrides[column] = int(fen)
            elif kind == "list":
                if _yes_no(text, column):
                    overrides[column] = True              # a member; since when stays unknown until asked
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


def _questions(explained: Sequence[ClauseExplanation], schema: Schema, errors: Mapping[str, str],
               limit: int) -> list[Question]:
    """The facts that can still change an undecided clause (ClauseExplanation.questions), the
    one whose answer settles most first: by the sum over clauses of the share of its answers
    that settle the clause alone, then by how many clauses it can change, then as first met."""
    labels: dict[str, str] = {}
    weight: dict[str, Fraction] = {}
    changes: dict[str, int] = {}
    settles: dict[str, list[str]] = {}
    for e in explained:
        if e.status != "unknown":
            continue
        for q in e.questions:
            column = q.fact.key
            labels.setdefault(column, q.fact.label)
            weight[column] = weight.get(column, Fraction(0)) + q.decides
            changes[column] = changes.get(column, 0) + 1
            if q.decides:
                settles.setdefault(column, []).append(e.title)
    first = list(labels)
    order = sorted(first, key=lambda c: (-weight[c], -changes[c], first.index(c)))
    return [_question(c, labels[c], schema, changes[c], errors.get(c, ""), tuple(settles.get(c, ())))
            for c in order[:limit]]


def _label(column: str, schema: Schema) -> str:
    kind, _, name = column.partition("@")
    if kind in ("list", "list_since"):
        return f"名单“{name}”" + ("（列入日期）" if kind == "list_since" else "")
    if kind in ("tag", "zone"):
        return f"{'标签' if kind == 'tag' else '区域'}“{name}”"
    if kind in ("received", "received_total"):
        return f"已获资金“{name.partition('@')[0]}”"
    f = schema.fields.get(kind)
    return (f.label if f else kind) + (f"[{name}]" if name else "")


def _question(column: str, label: str, schema: Schema, clauses: int, error: str,
              decides: tuple[str, ...]) -> Question:
    kind, _, _name = column.partition("@")
    if kind in ("list", "tag", "zone"):
        return Question(column, label, kind, (YES, NO), error or "是否属于", clauses, decides)
    if kind == "received":
        return Question(column, label, kind, (YES, NO), error or "是否已获得过该项资金", clauses, decides)
    if kind == "received_total":
        return Question(column, label, "money", (), error or "累计已获得该项资金的金额（元，如 50万）", clauses,
                        decides)
    if kind == "list_since":
        return Question(column, label, "date", (), error or "列入名单的日期（YYYY-MM-DD）", clauses, decides)
    f = schema.fields[kind]
    options = tuple(f.codes or ()) if f.type == "code" else (YES, NO) if f.type == "bool" else ()
    return Question(column, label, f.type, options, error or KINDS.get(f.type, ""), clauses, decides)


def answer_key(schema: Schema, text: str) -> str:
    """What a person may write for a question → its column: the column itself
    (`enterprise_size@2023`, `list@严重违法失信名单`) or the label as questions show it
    (`企业规模[2023]`, `名单“严重违法失信名单”`, `标签“僵尸企业”`)."""
    key = text.strip()
    kind, at, name = key.partition("@")
    if at and kind in ("list", "list_since", "tag", "zone", "received"):
        return key
    for word, prefix in (("名单", "list"), ("首次列入", "list_since"), ("标签", "tag"), ("区域", "zone"),
                         ("已获资金", "received")):
        if key.startswith(f"{word}“") and key.endswith("”"):
            return f"{prefix}@{key[len(word) + 1:-1]}"
    name, _, period = (key[:-1].partition("[") if key.endswith("]") else (kind, at, name))
    f = schema.resolve(name)
    if f is None:
        raise FrameError(f"没有名为“{name}”的字段或问题；请用问题给出的编号（如 enterprise_size@2023）"
                         "或中文名称（如 企业规模[2023]）")
    if f.period != "none" and not period:
        raise FrameError(f"“{f.label}”按{'年' if f.period == 'year' else '月'}记录，需写明期间，"
                         f"如 {f.id}@2023 或 {f.label}[2023]")
    if f.period == "none" and period:
        raise FrameError(f"“{f.label}”没有期间，请写 {f.id}=值")
    return f"{f.id}@{period}" if period else f.id


def answers_from_document(schema: Schema, doc: Mapping[str, Any]) -> dict[str, str]:
    """A fact file → answers: either question → answer (`{"企业规模[2023]": "小型"}`) or a fact
    document as `zhida policy eval` reads it (`{"facts": {...}, "lists": {...}, "tags": [...]}`)."""
    def word(value: Any) -> str:
        return (YES if value else NO) if isinstance(value, bool) else str(value)

    if "facts" not in doc:
        return {answer_key(schema, str(k)): word(v) for k, v in doc.items() if v is not None}
    out: dict[str, str] = {}
    for name, value in (doc.get("facts") or {}).items():
        f = schema.resolve(str(name))
        if f is None:
            raise FrameError(f"事实文件中的字段“{name}”不在字段注册表中；请使用注册表中的字段名或中文名称")
        if isinstance(value, Mapping):
            out |= {f"{f.id}@{p}": word(v) for p, v in value.items() if v is not None}
        elif value is not None:
            out[f.id] = word(value)
    for name, spans in (doc.get("lists") or {}).items():
        froms = sorted(str(s["from"]) for s in spans or () if isinstance(s, Mapping) and s.get("from"))
        out[f"list@{name}"] = YES if spans else NO
        if froms:
            out[f"list_since@{name}"] = froms[0]
    for kind, names in (("tag", schema.tags), ("zone", schema.zones)):
        given = doc.get(f"{kind}s")
        if given is not None:
            out |= {f"{kind}@{n}": YES if n in given else NO for n in names}
    if doc.get("received") is not None:
        out |= {f"received@{k}": YES if v else NO for k, v in doc["received"].items()}
    return out
