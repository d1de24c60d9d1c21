"""An enterprise's match report (匹配报告): what it gets, what might be, what nearly was.

Sections, each sorted by value (largest first):
* eligible — amount, mode, how to apply, deadline;
* possibly eligible — the missing facts and who can supply them (the field's source
  department from the registry; for 即申即办/申报审批 items also the firm itself, as a
  self-declared fact that a reviewer checks);
* near misses — the one condition that failed and what would make it hold (see evaluate.py);
* report-only (政策体检) — estimated tax reductions, never paid.
Every item carries the clause's condition-by-condition explanation (zhida.rules.explanation.explain).
Statuses come from the explainer; near misses and their amounts from the batch path on the
same one-row frame, so the report says exactly what a run says.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import polars as pl

from zhida.accounts import User, require_enterprise
from zhida.db.uow import UnitOfWork
from zhida.matching.errors import EnterpriseNotFound
from zhida.matching.evaluate import match_frame
from zhida.matching.run import DATA_USE_BASIS, population_frame
from zhida.profiles.datause import record_use, requirement_fields
from zhida.profiles.registry import Registry, load_registry
from zhida.profiles.store import ProfileStore
from zhida.rules.evaluate.clause import CompiledClause
from zhida.rules.evaluate.engine import CompiledPolicies, compile_policies
from zhida.rules.explanation.explain import ClauseExplanation, explain_frame
from zhida.rules.lang.schema import Schema
from zhida.rules.model.policy import Policy

SECTIONS = ("eligible", "possibly_eligible", "near_misses", "report_only")


@dataclass(frozen=True)
class Supplier:
    fact: str           # the frame column, e.g. insured@2024-03 or list@高新技术企业
    label: str          # 参保人数[2024-03]
    by: tuple[str, ...]  # who can supply it: departments, and/or 企业自行申报


@dataclass
class ReportItem:
    clause: str
    policy: str
    policy_version: str
    title: str
    policy_title: str
    mode: str
    mode_label: str
    amount_fen: int | None
    deadline: date | None
    how_to_apply: str
    materials: list[str]
    department: str
    explanation: ClauseExplanation
    missing: list[Supplier] = field(default_factory=list)
    would_qualify_if: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "clause": self.clause, "policy": self.policy, "policy_version": self.policy_version,
            "title": self.title, "policy_title": self.policy_title, "mode": self.mode, "mode_label": self.mode_label,
            "amount_fen": self.amount_fen, "deadline": self.deadline.isoformat() if self.deadline else None,
            "how_to_apply": self.how_to_apply, "materials": self.materials, "department": self.department,
            "missing": [{"fact": s.fact, "label": s.label, "by": list(s.by)} for s in self.missing],
            "would_qualify_if": self.would_qualify_if, "explanation": self.explanation.to_dict(),
        }


@dataclass
class EnterpriseReport:
    uscc: str
    name: str
    as_of: date
    eligible: list[ReportItem]
    possibly_eligible: list[ReportItem]
    near_misses: list[ReportItem]
    report_only: list[ReportItem]

    @property
    def eligible_fen(self) -> int:
        return sum(i.amount_fen or 0 for i in self.eligible)

    def to_dict(self) -> dict[str, Any]:
        return {"uscc": self.uscc, "name": self.name, "as_of": self.as_of.isoformat(),
                "eligible_fen": self.eligible_fen,
                **{s: [i.to_dict() for i in getattr(self, s)] for s in SECTIONS}}


def suppliers(columns: Sequence[str], labels: dict[str, str], mode: str, registry: Registry) -> list[Supplier]:
    """Who can supply each missing fact: the registry source's department (lists and tags:
    the list's source); for clauses one applies for, also the firm itself."""
    out = []
    for col in columns:
        kind, _, name = col.partition("@")
        if kind in ("list", "list_since", "tag"):
            info = registry.list_or_tag(name)
            src = info.source if info else None
        else:
            f = registry.fields.get(kind)
            src = f.source if f else None
            if f is not None and col not in labels:
                labels = {**labels, col: f.label + (f"[{name}]" if name else "")}
        if src is not None and src in registry.sources:
            s = registry.sources[src]
            by = [f"{s.department}（{s.label}）"]
        elif src == "derived":
            by = ["由画像根据其他字段计算：补齐其来源数据即可"]
        else:
            by = []
        if mode in ("instant", "reviewed"):
            by.append("企业自行申报（标记为自报，经审核后使用）")
        out.append(Supplier(col, labels.get(col, col), tuple(by)))
    return out


def _missing_columns(e: ClauseExplanation, c: CompiledClause, row: dict[str, Any]) -> tuple[list[str], dict[str, str]]:
    labels = {f.column: f.label for a in e.atoms for f in a.facts}
    cols = [f.column for a in e.atoms if a.verdict is None for f in a.facts if f.missing]
    if e.amount_fen is None:
        cols += [col for col in c.amount_columns if row.get(col) is None]
    return list(dict.fromkeys(cols)), labels


def enterprise_report(
    uow: UnitOfWork,
    store: ProfileStore,
    policies: Sequence[Policy],
    schema: Schema,
    as_of: date,
    uscc: str,
    *,
    actor: User,
    purpose: str = "企业匹配报告",
    registry: Registry | None = None,
    zones_dir: Path | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    cache: ReportCache | None = None,
) -> EnterpriseReport:
    """The match report of one enterprise on `as_of`, for the firm itself or staff who may see
    any firm; records the data use (every time, also when the report comes from `cache`)."""
    require_enterprise(actor, uscc)
    key = (tuple(p.content_hash for p in policies), as_of, uscc,
           tuple(b.id for b in store.batches(known_by=as_of)), str(store.root))
    hit = cache.get(key) if cache is not None else None
    if hit is not None:
        report, fields = hit
        record_use(uow, uscc=uscc, fields=fields, purpose=purpose, actor=actor.username, legal_basis=DATA_USE_BASIS,
                   used_at=clock(), as_of=as_of)
        return report
    registry = registry or load_registry()
    compiled = compile_policies(policies, schema, as_of)
    one = population_frame(store, compiled.requirements, as_of, schema, zones_dir, usccs=[uscc])  # its rows only
    if one.is_empty():
        raise EnterpriseNotFound(f"画像库中没有统一社会信用代码为 {uscc} 的企业（评估日 {as_of}）；"
                                 "请核对代码，或先导入该企业的登记信息。")
    fields = requirement_fields(compiled.requirements.columns())
    record_use(uow, uscc=uscc, fields=fields, purpose=purpose, actor=actor.username, legal_basis=DATA_USE_BASIS,
               used_at=clock(), as_of=as_of)
    report = _report(compiled, one, registry, uscc, as_of)
    if cache is not None:
        cache.put(key, (report, fields))
    return report


class ReportCache:
    """Reports already computed, by (policy versions, date, firm, profile batches): the same
    inputs give the same report, so a firm that opens its report again is not recomputed.
    Bounded; the least recently used report goes first. Safe across threads."""

    def __init__(self, size: int = 2000) -> None:
        self._size, self._items = size, OrderedDict[Any, tuple[EnterpriseReport, list[str]]]()
        self._lock = threading.Lock()

    def get(self, key: Any) -> tuple[EnterpriseReport, list[str]] | None:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        return None

    def put(self, key: Any, value: tuple[EnterpriseReport, list[str]]) -> None:
        with self._lock:
            self._items[key] = value
            while len(self._items) > self._size:
                self._items.popitem(last=False)


def _report(compiled: CompiledPolicies, one: pl.DataFrame, registry: Registry, uscc: str, as_of: date
            ) -> EnterpriseReport:
    explanations = {e.key: e for e in explain_frame(compiled, one)}
    batch = {r["clause"]: r for r in match_frame(compiled, one, near_misses="all").iter_rows(named=True)}
    row = compiled.prepare(one).row(0, named=True)
    sections: dict[str, list[ReportItem]] = {s: [] for s in SECTIONS}
    for c in compiled.clauses:
        e = explanations[c.key]
        spec = c.clause.spec
        item = ReportItem(c.key, c.policy.id, c.policy.content_hash, spec.title, c.policy.spec.title, spec.mode,
                          e.mode_label, e.amount_fen, spec.deadline, spec.how_to_apply, list(spec.materials),
                          spec.department or c.policy.spec.department, e)
        if e.status == "eligible":
            sections["report_only" if spec.mode == "report_only" else "eligible"].append(item)
        elif e.status == "unknown":
            cols, labels = _missing_columns(e, c, row)
            item.missing = suppliers(cols, labels, spec.mode, registry)
            sections["possibly_eligible"].append(item)
        elif e.status == "ineligible" and batch.get(c.key, {}).get("status") == "near_miss":
            failed = [a for a in e.atoms if a.verdict is False]
            item.amount_fen = batch[c.key]["amount_fen"]
            item.would_qualify_if = failed[0].hint if failed else ""
            sections["near_misses"].append(item)
    for items in sections.values():
        items.sort(key=lambda i: (i.amount_fen is None, -(i.amount_fen or 0), i.clause))
    name = str(row.get("enterprise_name") or "")
    return EnterpriseReport(uscc, name, as_of, **sections)
