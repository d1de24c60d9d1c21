"""Each role's work, as the web pages list it: a firm's own offers, a department's review
queue, finance's payment desk. Read-only services: every one checks the acting user and scopes
its query (and, on PostgreSQL, the transaction) to what that user may see. The actions on
those items are the workflow services themselves (zhida.workflow.*).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import sqlalchemy as sa

from zhida.accounts import Permission, User, department_scope, require, require_enterprise
from zhida.db.scope import Scope, restrict
from zhida.db.tables import budgets, notices, offers, policy_versions
from zhida.db.uow import UnitOfWork
from zhida.workflow.offers import Offer, get_offer, view_offer
from zhida.workflow.states import OfferState

S = OfferState


def clause_titles(uow: UnitOfWork, keys: set[str]) -> dict[str, str]:
    """“政策名称 · 条款名称” for clause keys, from the published versions (the current or the
    version an offer was made under: any version that has the clause)."""
    titles: dict[str, str] = {}
    with uow:
        for document in uow.conn.execute(sa.select(policy_versions.c.document).where(
                policy_versions.c.policy_id.in_({k.split("/")[0] for k in keys}))
                .order_by(policy_versions.c.id.desc())).scalars():
            for clause in document.get("clauses", []):
                key = f"{document['id']}/{clause['id']}"
                if key in keys:
                    titles.setdefault(key, f"{document['title']} · {clause['title']}")
    return {k: titles.get(k, k) for k in keys}


def offers_of_firm(uow: UnitOfWork, *, actor: User) -> list[Offer]:
    """The acting firm's offers, newest first."""
    if not actor.uscc:
        require(actor, Permission.VIEW_OWN_ENTERPRISE)   # a staff account: refused with the reason
        return []
    require_enterprise(actor, actor.uscc)
    with uow:
        restrict(uow, Scope(uscc=actor.uscc))
        ids = uow.conn.execute(sa.select(offers.c.id).where(offers.c.uscc == actor.uscc)
                               .order_by(offers.c.id.desc())).scalars().all()
        return [get_offer(uow, int(i)) for i in ids]


def offer_of_firm(uow: UnitOfWork, offer_id: int, *, actor: User) -> Offer:
    return view_offer(uow, offer_id, actor=actor)


@dataclass
class ClauseQueue:
    clause: str
    department: str
    by_state: dict[OfferState, int] = field(default_factory=dict)
    amount_fen: int = 0
    open_notice: int | None = None       # the open 公示's id, if any
    notice_end: str = ""

    def count(self, state: OfferState) -> int:
        return self.by_state.get(state, 0)


def review_queue(uow: UnitOfWork, *, actor: User) -> list[ClauseQueue]:
    """Per clause, the offers of the reviewer's department by state (all departments for
    oversight roles), with the open 公示 if there is one."""
    department = department_scope(actor)
    q = sa.select(offers.c.clause, offers.c.department, offers.c.state, sa.func.count(),
                  sa.func.sum(offers.c.amount_fen)).group_by(offers.c.clause, offers.c.department, offers.c.state)
    if department is not None:
        q = q.where(offers.c.department == department)
    found: dict[tuple[str, str], ClauseQueue] = {}
    with uow:
        restrict(uow, Scope(department=department) if department else Scope(everything=True))
        for clause, dept, state, n, fen in uow.conn.execute(q).all():
            item = found.setdefault((clause, dept), ClauseQueue(clause, dept))
            item.by_state[S(state)] = int(n)
            item.amount_fen += int(fen or 0)
        for n_id, clause, dept, end in uow.conn.execute(sa.select(
                notices.c.id, notices.c.clause, notices.c.department, notices.c.end_date)
                .where(notices.c.state == "open")).all():
            if (clause, dept) in found:
                found[(clause, dept)].open_notice, found[(clause, dept)].notice_end = int(n_id), end.isoformat()
    return sorted(found.values(), key=lambda c: (c.department, c.clause))


def offers_in_queue(uow: UnitOfWork, clause: str, *, actor: User) -> list[Offer]:
    department = department_scope(actor)
    q = sa.select(offers.c.id).where(offers.c.clause == clause).order_by(offers.c.uscc)
    if department is not None:
        q = q.where(offers.c.department == department)
    with uow:
        restrict(uow, Scope(department=department) if department else Scope(everything=True))
        return [get_offer(uow, int(i)) for i in uow.conn.execute(q).scalars()]


@dataclass(frozen=True)
class Payable:
    clause: str
    policy_id: str
    year: int
    confirmed: int
    confirmed_fen: int
    failed: int
    budget_fen: int | None          # funded − committed; None: no budget yet


def payment_desk(uow: UnitOfWork, *, actor: User) -> list[Payable]:
    """Per clause and year: offers confirmed (or failed, to retry) and what the budget still holds."""
    require(actor, Permission.PREPARE_PAYMENTS)
    with uow:
        rows = uow.conn.execute(sa.select(offers.c.clause, offers.c.policy_id, offers.c.period, offers.c.state,
                                          sa.func.count(), sa.func.sum(offers.c.amount_fen))
                                .where(offers.c.state.in_([S.CONFIRMED.value, S.PAYMENT_FAILED.value]))
                                .group_by(offers.c.clause, offers.c.policy_id, offers.c.period, offers.c.state)).all()
        left = {(p, y): int(f - c) for p, y, f, c in uow.conn.execute(sa.select(
            budgets.c.policy_id, budgets.c.year, budgets.c.funded_fen, budgets.c.committed_fen)).all()}
    grouped: dict[tuple[str, str, int], list[int]] = defaultdict(lambda: [0, 0, 0])
    for clause, policy_id, period, state, n, fen in rows:
        g = grouped[(clause, policy_id, int(str(period)[:4]))]
        if state == S.CONFIRMED.value:
            g[0], g[1] = g[0] + int(n), g[1] + int(fen or 0)
        else:
            g[2] += int(n)
    return [Payable(clause, policy_id, year, c, fen, failed, left.get((policy_id, year)))
            for (clause, policy_id, year), (c, fen, failed) in sorted(grouped.items())]
