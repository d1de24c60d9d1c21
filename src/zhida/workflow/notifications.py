"""Messages to firms: an outbox table written in the caller's transaction.

`notify` joins the unit of work of the service that decided something (公示 closed, a reminder,
an application decided), so the message exists exactly when the decision does. Delivery beyond
the firm's inbox (SMS, 浙政钉) would read this table; the firm's own account reads and marks it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from zhida.accounts import User, require_enterprise
from zhida.accounts.errors import NotAllowed
from zhida.db.tables import notifications
from zhida.db.uow import UnitOfWork
from zhida.errors import ZhidaError

Clock = Callable[[], datetime]


class NotificationNotFound(ZhidaError):
    """No such notification."""


@dataclass(frozen=True)
class Notification:
    id: int
    uscc: str
    kind: str
    title: str
    body: str
    offer_id: int | None
    application_id: int | None
    created_at: datetime
    read_at: datetime | None


def _now() -> datetime:
    return datetime.now(UTC)


def notify(uow: UnitOfWork, *, uscc: str, kind: str, title: str, body: str, offer_id: int | None = None,
           application_id: int | None = None, clock: Clock = _now) -> int:
    """Append one message for a firm (inside the caller's transaction, or in one of its own);
    returns its id."""
    with uow:
        new_id = int(uow.conn.execute(sa.insert(notifications).values(
            uscc=uscc, kind=kind, title=title, body=body, offer_id=offer_id, application_id=application_id,
            created_at=clock()).returning(notifications.c.id)).scalar_one())
        uow.commit()
    return new_id


def notifications_of(uow: UnitOfWork, uscc: str, *, actor: User) -> list[Notification]:
    """A firm's messages, newest first (its own account, or staff who may see any firm)."""
    require_enterprise(actor, uscc)
    with uow:
        rows = uow.conn.execute(sa.select(notifications).where(notifications.c.uscc == uscc)
                                .order_by(notifications.c.id.desc())).mappings().all()
    return [_notification(r) for r in rows]


def mark_read(uow: UnitOfWork, notification_id: int, *, actor: User, clock: Clock = _now) -> Notification:
    """The firm has read a message (only the firm's own account marks it; again: no change)."""
    with uow:
        row = uow.conn.execute(sa.select(notifications).where(notifications.c.id == notification_id)
                               ).mappings().first()
        if row is None:
            raise NotificationNotFound(f"没有编号为 {notification_id} 的消息；请刷新消息列表。")
        if actor.uscc != row["uscc"] or not actor.active:
            raise NotAllowed(f"消息 {notification_id} 属于企业 {row['uscc']}，只有该企业的账号才能标记为已读。")
        uow.conn.execute(sa.update(notifications).where((notifications.c.id == notification_id)
                                                        & notifications.c.read_at.is_(None))
                         .values(read_at=clock()))
        row = uow.conn.execute(sa.select(notifications).where(notifications.c.id == notification_id)
                               ).mappings().one()
        uow.commit()
    return _notification(row)


def _notification(row: sa.RowMapping) -> Notification:
    return Notification(id=row["id"], uscc=row["uscc"], kind=row["kind"], title=row["title"], body=row["body"],
                        offer_id=row["offer_id"], application_id=row["application_id"],
                        created_at=row["created_at"], read_at=row["read_at"])
