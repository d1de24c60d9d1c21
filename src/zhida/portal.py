"""What the web pages show, as services: the policy library, a policy's page, a firm's own match
report, and the leaders' overview. Pages and the JSON API call these and only these; each
checks the acting user (None: an anonymous visitor) before it reads anything.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from zhida.accounts import Permission, Role, User, require
from zhida.calculator import Calculation, calculate
from zhida.db.tables import offers
from zhida.db.uow import UnitOfWork
from zhida.errors import ZhidaError
from zhida.matching.errors import RunNotFound
from zhida.matching.report import EnterpriseReport
from zhida.matching.run import MatchRun, load_run, run_results
from zhida.matching.summary import PolicySummary, summarize
from zhida.profiles.datause_writer import DataUseWriter
from zhida.published import PolicyVersion, published_set, versions
from zhida.reports import REPORT_PURPOSE, firm_report, published_policies
from zhida.reportstore import ReportStore
from zhida.rules.lang.schema import Schema
from zhida.rules.model.document import MODE_LABELS
from zhida.rules.model.policy import Policy


class NotFound(ZhidaError):
    """The page's subject does not exist (or is not published)."""

    exit_code = 4


@dataclass(frozen=True)
class LibraryEntry:
    id: str
    title: str
    issuer: str
    document_number: str
    department: str
    region: str
    level: str
    summary: str
    valid_from: date | None
    valid_to: date | None
    in_force: bool
    modes: tuple[str, ...]
    clauses: int


@dataclass(frozen=True)
class ClauseView:
    key: str
    title: str
    mode_label: str
    source: str
    how_to_apply: str
    materials: tuple[str, ...]
    deadline: date | None
    department: str


@dataclass(frozen=True)
class PolicyPage:
    entry: LibraryEntry
    source_url: str
    notes: str
    clauses: tuple[ClauseView, ...]
    published_at: str
    content_hash: str


def _level(region: str) -> str:
    if region == "100000":
        return "国家"
    if region.endswith("0000"):
        return "省级"
    if region.endswith("00"):
        return "市级"
    return "区县"


def _entry(v: PolicyVersion, today: date) -> LibraryEntry:
    doc = v.document
    modes = tuple(dict.fromkeys(MODE_LABELS[c["mode"]] for c in doc.get("clauses", [])))
    in_force = (v.valid_from is None or v.valid_from <= today) and (v.valid_to is None or today <= v.valid_to)
    return LibraryEntry(id=v.policy_id, title=v.title, issuer=doc.get("issuer", ""),
                        document_number=doc.get("document_number", ""), department=doc.get("department", ""),
                        region=str(doc.get("region", "")), level=_level(str(doc.get("region", ""))),
                        summary=doc.get("summary", ""), valid_from=v.valid_from, valid_to=v.valid_to,
                        in_force=in_force, modes=modes, clauses=len(doc.get("clauses", [])))


def library(uow: UnitOfWork, today: date, *, query: str = "", level: str = "", department: str = "",
            mode: str = "", validity: str = "") -> list[LibraryEntry]:
    """Published policies, filtered: words in the title, summary, issuer or document number;
    a level (国家/省级/市级/区县); words in the department; an execution mode label; 有效/已失效.
    Anyone may read it."""
    words = query.split()
    found = []
    for v in published_set(uow):
        e = _entry(v, today)
        text = " ".join((e.title, e.summary, e.issuer, e.document_number, e.department))
        if words and not all(w in text for w in words):
            continue
        if (level and e.level != level) or (department and department not in e.department) \
                or (mode and mode not in e.modes):
            continue
        if (validity == "有效" and not e.in_force) or (validity == "已失效" and e.in_force):
            continue
        found.append(e)
    return sorted(found, key=lambda e: (not e.in_force, e.title))


def policy_page(uow: UnitOfWork, policy_id: str, today: date) -> PolicyPage:
    current = [v for v in published_set(uow) if v.policy_id == policy_id]
    if not current:
        known = versions(uow, policy_id)
        raise NotFound(f"政策 {policy_id} " + ("已下架" if known else "不存在") + "；请回到政策库查找。")
    v = current[0]
    doc = v.document
    clauses = tuple(ClauseView(key=f"{policy_id}/{c['id']}", title=c["title"], mode_label=MODE_LABELS[c["mode"]],
                               source=c.get("source", ""), how_to_apply=c.get("how_to_apply", ""),
                               materials=tuple(c.get("materials", [])),
                               deadline=date.fromisoformat(str(c["deadline"])) if c.get("deadline") else None,
                               department=c.get("department") or doc.get("department", ""))
                    for c in doc.get("clauses", []))
    return PolicyPage(entry=_entry(v, today), source_url=doc.get("source_url", ""), notes=doc.get("notes", ""),
                      clauses=clauses, published_at=f"{v.published_at:%Y-%m-%d}", content_hash=v.content_hash)


def _latest_run(uow: UnitOfWork) -> MatchRun:
    try:
        return load_run(uow)
    except ZhidaError:
        raise NotFound("还没有匹配批次：请先运行 zhida run（或 zhida match run）。") from None


def application_day(uow: UnitOfWork, today: date) -> date:
    """The date an application made today is evaluated on: the data's — the latest run's
    evaluation date when that is earlier (a demo city describes mid-2024), else today; the same
    date the firm's match report used."""
    try:
        return min(load_run(uow).as_of, today)
    except ZhidaError:
        return today


def my_report(uow: UnitOfWork, schema: Schema, zones_dir: Path | None, *, actor: User,
              reports: ReportStore | None = None, uses: DataUseWriter | None = None) -> EnterpriseReport:
    """The acting firm's own match report on the latest run's date and profile snapshot
    (computed once per run and kept: zhida.reports); the read is recorded as a data use by the
    firm itself, committed before the report is returned."""
    if Role.ENTERPRISE not in actor.roles or not actor.uscc:
        raise NotFound("只有企业账号有自己的匹配报告；工作人员请在政策库或看板中查看。")
    try:
        return firm_report(uow, schema, zones_dir, actor.uscc, actor=actor, purpose=REPORT_PURPOSE,
                           reports=reports, uses=uses)[0]
    except RunNotFound:
        raise NotFound("还没有匹配批次：请先运行 zhida run（或 zhida match run）。") from None


@dataclass
class Overview:
    run: MatchRun
    policies: list[PolicySummary]
    offers_by_state: dict[str, int] = field(default_factory=dict)
    paid_fen: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"run": self.run.id, "as_of": self.run.as_of.isoformat(), "enterprises": self.run.enterprises,
                "policies": [s.to_dict() for s in self.policies], "offers_by_state": self.offers_by_state,
                "paid_fen": self.paid_fen}


def overview(uow: UnitOfWork, data_dir: Path, *, actor: User) -> Overview:
    """The leaders' view of the latest run: per policy, who is eligible and how much; where the
    offers made from it stand."""
    require(actor, Permission.VIEW_DASHBOARDS)
    run = _latest_run(uow)
    by_id = {p.id: p for p in published_policies(uow)}
    evaluated: Sequence[Policy] = [by_id[pid] for pid, h in run.policies
                                   if pid in by_id and by_id[pid].content_hash == h]
    summaries = summarize(run, run_results(run, data_dir), evaluated)
    with uow:
        states = Counter({str(s): int(n) for s, n in uow.conn.execute(
            sa.select(offers.c.state, sa.func.count()).group_by(offers.c.state)).all()})
        paid = uow.conn.execute(sa.select(sa.func.coalesce(sa.func.sum(offers.c.amount_fen), 0))
                                .where(offers.c.state == "paid")).scalar_one()
    return Overview(run=run, policies=summaries, offers_by_state=dict(states), paid_fen=int(paid))


def calculator(uow: UnitOfWork, schema: Schema, as_of: date, answers: dict[str, str], *,
               policy_id: str = "") -> Calculation:
    """The 政策计算器 over the published policies (or one of them); anyone may use it and
    nothing is stored."""
    policies = published_policies(uow)
    if policy_id:
        policies = [p for p in policies if p.id == policy_id]
        if not policies:
            raise NotFound(f"政策 {policy_id} 不存在或未发布；请在政策库中选择。")
    return calculate(policies, schema, as_of, answers)
