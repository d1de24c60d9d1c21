"""Deadlines of the firm's confirmation: reminders before, deemed waiver (视为放弃) after.

Both are plain service functions a job runner (or `zhida offer remind/expire`) calls with the
day; each owns its transaction and is idempotent: a second run on the same day sends no second
reminder (one per offer and day, kept in `offer_reminders`) and waives nothing twice (the
offer's state guards the EXPIRE transition).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from zhida.accounts import User, require_department
from zhida.db.tables import notifications, offer_reminders, offers
from zhida.db.uow import UnitOfWork
from zhida.workflow.notices import yuan
from zhida.workflow.notifications import notify
from zhida.workflow.offers import get_offer, transition
from zhida.workflow.states import OfferAction, OfferState, TransitionNotAllowed

Clock = Callable[[], datetime]
UNCONFIRMED = (OfferState.AWAITING_CONFIRMATION.value, OfferState.NEEDS_CORRECTION.value)


@dataclass(frozen=True)
class Reminded:
    sent: list[int]        # offers reminded now
    already: list[int]     # offers already reminded today


def _now() -> datetime:
    return datetime.now(UTC)


def _scope(actor: User) -> sa.ColumnElement[bool]:
    """The actor's department's unconfirmed offers (deadlines are the reviewing department's)."""
    department = actor.department or ""
    require_department(actor, department)
    return (offers.c.department == department) & offers.c.state.in_(UNCONFIRMED) & offers.c.confirm_by.is_not(None)


def send_reminders(uow: UnitOfWork, today: date, *, actor: User, days_before: int = 3,
                   clock: Clock = _now) -> Reminded:
    """A reminder to each firm whose unconfirmed offer is due within `days_before` days (and not
    yet overdue), at most one per offer and day."""
    scope = _scope(actor)
    last = today + timedelta(days=days_before)
    with uow:
        due = uow.conn.execute(sa.select(offers.c.id).where(
            scope & (offers.c.confirm_by >= today) & (offers.c.confirm_by <= last)).order_by(offers.c.id)
        ).scalars().all()
        done = set(uow.conn.execute(sa.select(offer_reminders.c.offer_id).where(
            (offer_reminders.c.day == today) & offer_reminders.c.offer_id.in_(due))).scalars())
        sent = []
        for offer_id in due:
            if offer_id in done:
                continue
            offer = get_offer(uow, offer_id)
            assert offer.confirm_by is not None
            left = (offer.confirm_by - today).days
            what = "补正收款账户并确认" if offer.state is OfferState.NEEDS_CORRECTION else "确认收款账户并签署承诺"
            note_id = notify(uow, uscc=offer.uscc, kind="offer_reminder", offer_id=offer_id, clock=clock,
                             title=f"提醒：{offer.clause} 资金待确认（剩 {left} 天）",
                             body=f"贵企业可享受 {offer.clause} 资金 {yuan(offer.amount_fen)} 元，请于 "
                                  f"{offer.confirm_by.isoformat()} 前{what}；逾期视为放弃。")
            if not _claim(uow, offer_id, today, note_id):   # another runner reminded it first
                uow.conn.execute(sa.delete(notifications).where(notifications.c.id == note_id))
                done.add(offer_id)
                continue
            sent.append(offer_id)
        uow.commit()
    return Reminded(sent=sent, already=sorted(done))


def _claim(uow: UnitOfWork, offer_id: int, day: date, notification_id: int) -> bool:
    """Record today's reminder of the offer unless one exists (a concurrent runner's insert waits
    for the first to commit, then inserts nothing)."""
    values = {"offer_id": offer_id, "day": day, "notification_id": notification_id}
    if uow.conn.dialect.name == "postgresql":
        stmt: Any = postgresql.insert(offer_reminders).values(**values).on_conflict_do_nothing()
    else:
        stmt = sqlite.insert(offer_reminders).values(**values).on_conflict_do_nothing()
    return uow.conn.execute(stmt.returning(offer_reminders.c.offer_id)).first() is not None


def expire_overdue(uow: UnitOfWork, today: date, *, actor: User, clock: Clock = _now) -> list[int]:
    """Every unconfirmed offer whose confirm-by day has passed is deemed waived (逾期视为放弃),
    with the deadline in its event, and the firm is told; returns the offers waived now."""
    scope = _scope(actor)
    with uow:
        overdue = uow.conn.execute(sa.select(offers.c.id).where(scope & (offers.c.confirm_by < today))
                                   .order_by(offers.c.id)).scalars().all()
        waived: list[int] = []
        for offer_id in overdue:
            offer = get_offer(uow, offer_id)
            assert offer.confirm_by is not None
            try:
                transition(uow, offer_id, OfferAction.EXPIRE, actor=actor, clock=clock,
                           detail={"deadline": offer.confirm_by.isoformat(), "today": today.isoformat()})
            except TransitionNotAllowed:   # confirmed or waived by someone else meanwhile: nothing written
                continue
            waived.append(offer_id)
            notify(uow, uscc=offer.uscc, kind="offer_waived", offer_id=offer_id, clock=clock,
                   title=f"{offer.clause} 资金已视为放弃",
                   body=f"贵企业未在 {offer.confirm_by.isoformat()} 前确认领取 {offer.clause} 资金 "
                        f"{yuan(offer.amount_fen)} 元，按规定视为放弃。如有异议请联系主管部门。")
        uow.commit()
    return waived
