"""Answering a question: retrieve, judge confidence, cite the clause and its source, state the
validity, add the firm's own status, or hand off to a person (诉求) when unsure."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

import numpy as np

from zhida.assistant.index import Index, PolicyInfo, scores

# Calibrated on bench/data/qa-questions.yaml (docs/assistant.md): the share of the question's
# concepts (weighted by rarity) that the best document contains.
MIN_COVERAGE = 0.6
TOP_N = 3


@dataclass(frozen=True)
class Citation:
    policy: str
    policy_title: str
    document_number: str
    issuer: str
    clause: str | None
    clause_title: str
    source: str
    validity: str
    expired: bool


@dataclass(frozen=True)
class Hit:
    policy: str
    clause: str | None
    kind: str
    coverage: float
    score: float


@dataclass(frozen=True)
class FirmItem:
    clause: str
    title: str
    status: str          # 符合 / 可能符合 / 差一点符合 / 政策体检
    amount_fen: int | None
    note: str


@dataclass(frozen=True)
class FirmStatus:
    uscc: str
    name: str
    as_of: date
    items: tuple[FirmItem, ...]
    text: str


@dataclass(frozen=True)
class Handoff:
    department: str
    question: str
    reason: str
    kind: str = "诉求"


@dataclass
class Answer:
    question: str
    answered: bool
    text: str
    confidence: float
    corrected: str
    corrections: list[tuple[str, str]] = field(default_factory=list)
    citations: list[Citation] = field(default_factory=list)
    hits: list[Hit] = field(default_factory=list)
    firm: FirmStatus | None = None
    handoff: Handoff | None = None

    @property
    def policies(self) -> list[str]:
        """The distinct policies found, best first (what the benchmark scores)."""
        return list(dict.fromkeys(h.policy for h in self.hits))

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        if self.firm is not None:
            d["firm"]["as_of"] = self.firm.as_of.isoformat()
        return d


def validity(p: PolicyInfo, today: date) -> tuple[str, bool]:
    if p.valid_to is not None and p.valid_to < today:
        return f"该政策已于 {p.valid_to} 失效", True
    if p.valid_from is not None and p.valid_from > today:
        return f"该政策自 {p.valid_from} 起施行，尚未生效", False
    if p.valid_to is not None:
        return f"该政策现行有效，有效期至 {p.valid_to}", False
    return "该政策现行有效（未规定截止日期）", False


def _coverage(index: Index, groups: tuple[tuple[str, ...], ...], doc_tokens: frozenset[str]) -> float:
    total = matched = 0.0
    for g in groups:
        known = [index.idf[t] for t in g if t in index.idf]
        w = max(known) if known else (index.max_idf if len(g[0]) > 1 else 0.3 * index.max_idf)
        total += w
        if any(t in doc_tokens or ("+" in t and all(p in doc_tokens for p in t.split("+"))) for t in g):
            matched += w
    return matched / total if total else 0.0


def _route(index: Index, question: str, hits: list[Hit]) -> str:
    if hits and hits[0].coverage >= MIN_COVERAGE / 2:
        return index.policies[hits[0].policy].department
    vocab = index.segmenter.vocabulary
    for r in vocab.routes:
        if any(w in question for w in r.words):
            return r.department
    return vocab.default_department


def _citation(index: Index, hit: Hit, today: date) -> Citation:
    p = index.policies[hit.policy]
    title, source = p.clauses.get(hit.clause or "", ("", ""))
    if not hit.clause and p.clauses:      # an FAQ entry of the whole policy cites its first clause's source
        first = next(iter(p.clauses))
        title, source = p.clauses[first]
    text, expired = validity(p, today)
    return Citation(p.id, p.title, p.document_number, p.issuer, hit.clause, title, source, text, expired)


def retrieve(index: Index, question: str) -> tuple[list[Hit], Any]:
    """The best document per policy, best policy first."""
    q = index.segmenter.query(question)
    raw = scores(index, q.tokens)
    top = float(raw.max()) if raw.size else 0.0
    ranked: dict[str, Hit] = {}
    for i in np.argsort(-raw)[: 4 * TOP_N * 4]:
        if raw[i] <= 0:
            break
        d = index.documents[int(i)]
        cov = _coverage(index, q.groups, index.doc_tokens[int(i)])
        hit = Hit(d.policy, d.clause, d.kind, round(cov, 3), round(float(raw[i]), 3))
        best = ranked.get(d.policy)
        if best is None or (cov + 0.2 * hit.score / top) > (best.coverage + 0.2 * best.score / top):
            ranked[d.policy] = hit
    hits = sorted(ranked.values(), key=lambda h: -(h.coverage + 0.2 * h.score / (top or 1)))
    return hits[:TOP_N], q


def answer(index: Index, question: str, *, today: date, report: Any = None) -> Answer:
    """Answer from the index. `report` is the asking firm's own EnterpriseReport (zhida.matching.report),
    or None for an anonymous visitor or staff."""
    hits, q = retrieve(index, question)
    confidence = hits[0].coverage if hits else 0.0
    base = Answer(question, False, "", confidence, q.text, list(q.corrections), hits=hits)
    if not hits or confidence < MIN_COVERAGE:
        dept = _route(index, q.text, hits)
        base.text = ("这个问题不在本平台已发布的政策范围内，或我们没有把握准确回答。"
                     f"为避免给出错误的政策，建议转人工：可将问题作为诉求提交给{dept}。")
        reason = "未找到可靠对应的政策" if not hits else f"置信度 {confidence:.2f} 低于 {MIN_COVERAGE}"
        base.handoff = Handoff(dept, question, reason)
        return base
    best = hits[0]
    doc = next((d for d in index.documents
                if (d.policy, d.clause, d.kind) == (best.policy, best.clause, best.kind)), None)
    cites = [_citation(index, h, today) for h in hits if h is best or h.coverage >= MIN_COVERAGE]
    main = cites[0]
    lines = []
    if doc is not None and doc.faq is not None:
        lines.append(doc.faq.answer)
    else:
        p = index.policies[best.policy]
        lines.append(p.summary)
    clause = f"「{main.clause_title}」" if main.clause_title else ""
    lines.append(f"依据：《{main.policy_title}》（{main.document_number}）{clause}"
                 + (f"：{main.source}" if main.source else ""))
    lines.append(main.validity + "。")
    base.answered, base.citations = True, cites
    if report is not None:
        base.firm = firm_status(report, best.policy)
        lines.append(base.firm.text)
    base.text = "\n".join(lines)
    return base


_SECTIONS = {"eligible": "符合", "report_only": "政策体检", "possibly_eligible": "可能符合",
             "near_misses": "差一点符合"}


def _yuan(fen: int | None) -> str:
    if fen is None:
        return "金额待定"
    return f"{fen / 100:,.2f} 元"


def firm_status(report: Any, policy: str) -> FirmStatus:
    """The firm's own items of one policy from its match report."""
    items = []
    for section, label in _SECTIONS.items():
        for i in getattr(report, section):
            if i.policy != policy:
                continue
            if section == "possibly_eligible":
                note = "缺少：" + "、".join(m.label for m in i.missing) if i.missing else ""
            elif section == "near_misses":
                note = f"若{i.would_qualify_if}即可享受" if i.would_qualify_if else ""
            else:
                note = i.how_to_apply or ""
            items.append(FirmItem(i.clause, i.title, label, i.amount_fen, note))
    if items:
        parts = [f"{it.title}：{it.status}，{_yuan(it.amount_fen)}" + (f"（{it.note}）" if it.note else "")
                 for it in items]
        text = f"贵企业（{report.name or report.uscc}）按 {report.as_of} 的匹配结果：" + "；".join(parts) + "。"
    else:
        text = f"贵企业（{report.name or report.uscc}）按 {report.as_of} 的匹配结果：暂不符合该政策的条款。"
    return FirmStatus(report.uscc, report.name, report.as_of, tuple(items), text)
