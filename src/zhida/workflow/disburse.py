"""The payment worker: sends every pending payment through the bank adapter and records the
result. A restarted worker simply runs again: what is still pending is sent again with the same
idempotency key (the bank pays once per key), and a result already recorded is not recorded
twice (`settle_payment` is idempotent). Two workers at once are safe for the same reasons; on
PostgreSQL they also skip payments the other is sending (`FOR UPDATE SKIP LOCKED`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field

import sqlalchemy as sa

from zhida.accounts import Permission, User, require
from zhida.db.tables import offers, payments
from zhida.db.uow import UnitOfWork
from zhida.workflow import faults
from zhida.workflow.bank import PaymentAdapter
from zhida.workflow.offers import account_of
from zhida.workflow.payments import settle_payment


@dataclass
class Sent:
    paid: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def pay_pending(uow_factory: Callable[[], UnitOfWork], bank: PaymentAdapter, *, actor: User,
                limit: int | None = None, only: Collection[str] | None = None) -> Sent:
    """Send pending payments (at most `limit`; with `only`, just those keys — an approved batch's)
    and record each result."""
    require(actor, Permission.PREPARE_PAYMENTS)
    done = Sent()
    skip: set[str] = set()
    while limit is None or len(done.paid) + len(done.failed) < limit:
        with uow_factory() as uow:
            q = (sa.select(payments.c.idempotency_key, payments.c.amount_fen, offers.c.account_no,
                           offers.c.account_name)
                 .select_from(payments.join(offers, offers.c.id == payments.c.offer_id))
                 .where((payments.c.state == "pending") & payments.c.idempotency_key.not_in(skip or {""}))
                 .order_by(payments.c.id).limit(1))
            if only is not None:
                q = q.where(payments.c.idempotency_key.in_(list(only) or [""]))
            if uow.conn.dialect.name == "postgresql":
                q = q.with_for_update(of=payments, skip_locked=True)
            row = uow.conn.execute(q).first()
            if row is None:
                return done
            faults.checkpoint("bank.before_send")
            number = account_of(uow, row.account_no or "")
            result = bank.send(row.idempotency_key, number, row.account_name or "", int(row.amount_fen))
            faults.checkpoint("bank.after_send")
        settle_payment(uow_factory(), row.idempotency_key, paid=result.paid, reason=result.reason, actor=actor)
        (done.paid if result.paid else done.failed).append(row.idempotency_key)
        skip.add(row.idempotency_key)
    return done
