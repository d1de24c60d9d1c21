"""The search index over the published policies (policy, clause and source text) and the FAQ:
BM25 (bm25s) over jieba tokens, built once per published set."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import bm25s
import numpy as np

from zhida.assistant.data import FaqEntry, Vocabulary, load_faq, load_vocabulary
from zhida.assistant.text import Segmenter


@dataclass(frozen=True)
class PolicyInfo:
    id: str
    title: str
    issuer: str
    document_number: str
    department: str
    summary: str
    valid_from: date | None
    valid_to: date | None
    content_hash: str
    clauses: dict[str, tuple[str, str]]      # clause id → (title, source)


@dataclass(frozen=True)
class Document:
    policy: str
    clause: str | None
    kind: str                 # clause | faq
    text: str
    faq: FaqEntry | None = None


@dataclass
class Index:
    policies: dict[str, PolicyInfo]
    documents: list[Document]
    segmenter: Segmenter
    bm25: Any
    doc_tokens: list[frozenset[str]]
    idf: dict[str, float]
    max_idf: float
    key: tuple[str, ...] = field(default=())


def _as_date(v: Any) -> date | None:
    if v is None or isinstance(v, date):
        return v
    return date.fromisoformat(str(v))


def policy_info(document: dict[str, Any], content_hash: str = "") -> PolicyInfo:
    """What the assistant reads of a published document (`PolicyVersion.document`)."""
    clauses = {str(c["id"]): (str(c.get("title", "")), str(c.get("source", ""))) for c in document.get("clauses", [])}
    return PolicyInfo(str(document["id"]), str(document.get("title", "")), str(document.get("issuer", "")),
                      str(document.get("document_number", "")), str(document.get("department", "")),
                      " ".join(str(document.get("summary") or "").split()), _as_date(document.get("valid_from")),
                      _as_date(document.get("valid_to")), content_hash, clauses)


def _documents(policies: dict[str, PolicyInfo], faq: Sequence[FaqEntry]) -> list[Document]:
    docs = []
    for p in policies.values():
        head = f"{p.title} {p.issuer} {p.document_number} {p.summary}"
        for cid, (title, source) in p.clauses.items():
            docs.append(Document(p.id, cid, "clause", f"{head} {title} {title} {source}"))
    for e in faq:
        if e.policy not in policies:      # an FAQ entry of a policy that is not published is not answered
            continue
        p = policies[e.policy]
        clause_title = p.clauses.get(e.clause or "", ("", ""))[0]
        text = f"{e.question} {e.question} {e.answer} {p.title} {clause_title}"
        docs.append(Document(e.policy, e.clause, "faq", text, e))
    return docs


def build_index(documents: Sequence[tuple[dict[str, Any], str]], faq: Sequence[FaqEntry] | None = None,
                vocabulary: Vocabulary | None = None) -> Index:
    """An index over published documents, given as (document, content hash) pairs — e.g.
    `[(v.document, v.content_hash) for v in published_set(uow)]` — and the FAQ."""
    vocabulary = vocabulary or load_vocabulary()
    faq = load_faq() if faq is None else faq
    policies = {p.id: p for p in (policy_info(d, h) for d, h in documents)}
    docs = _documents(policies, faq)
    segmenter = Segmenter(vocabulary)
    tokens = [segmenter.search_tokens(d.text) for d in docs]
    segmenter.set_corpus("\n".join(d.text for d in docs))
    retriever = bm25s.BM25()
    retriever.index(tokens, show_progress=False)
    n = len(docs)
    df: dict[str, int] = {}
    for ts in tokens:
        for t in set(ts):
            df[t] = df.get(t, 0) + 1
    idf = {t: math.log(1 + (n - k + 0.5) / (k + 0.5)) for t, k in df.items()}
    max_idf = math.log(1 + (n - 0.5) / 1.5)   # an unknown word weighs like a word of one document
    key = tuple(sorted(p.content_hash or p.id for p in policies.values()))
    return Index(policies, docs, segmenter, retriever, [frozenset(ts) for ts in tokens], idf, max_idf, key)


def scores(index: Index, tokens: Sequence[str]) -> np.ndarray:
    known = [t for t in tokens if t in index.idf]
    if not known:
        return np.zeros(len(index.documents), dtype=np.float32)
    return np.asarray(index.bm25.get_scores(known), dtype=np.float32)


_CACHE: dict[tuple[str, ...], Index] = {}


def cached_index(documents: Sequence[tuple[dict[str, Any], str]]) -> Index:
    """One index per published set (keyed by the versions' content hashes); a new publication
    builds a new one."""
    key = tuple(sorted(h for _, h in documents))
    if key not in _CACHE:
        _CACHE.clear()
        _CACHE[key] = build_index(documents)
    return _CACHE[key]
