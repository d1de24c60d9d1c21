"""What was paid feeds the rules: the ledger's paid payments, published as the profile
store's `received` source (已获资金), which the rules read with `received("政策/条款")`.

A publication is a full snapshot — one row per paid payment: firm, clause, policy, period,
amount in fen, the date it was paid and the payment's idempotency key — committed as one
batch of the profile store (zhida.profiles.received). Closed world: once a snapshot is
known, a firm without a row for a clause has received nothing for it.

Idempotent: a snapshot equal in content to the latest one is not committed again (the
latest batch is returned); two publishers racing with the same content after the same
predecessor commit one batch (the store's own de-duplication by content digest).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone

import polars as pl
import sqlalchemy as sa

from zhida.accounts import Permission, User, require
from zhida.db.tables import offers, payments
from zhida.db.uow import UnitOfWork
from zhida.profiles import received
from zhida.profiles.store import Batch, ProfileStore
from zhida.profiles.validate import REJECT_SCHEMA

Clock = Callable[[], datetime]
CHINA = timezone(timedelta(hours=8), "Asia/Shanghai")   # payments are dated as the bank's statement shows them
FORMAT = "received-v1"


@dataclass(frozen=True)
class Publication:
    batch: Batch
    new: bool          # False: nothing was paid since the latest snapshot, which is returned
    payments: int


def _now() -> datetime:
    return datetime.now(UTC)


def local_date(at: datetime) -> date:
    """The calendar date in China of a stored (UTC) timestamp."""
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(CHINA).date()


def paid_rows(uow: UnitOfWork) -> pl.DataFrame:
    """Every paid payment with its offer: the rows of a snapshot, in a stable order."""
    p, o = payments.c, offers.c
    with uow:
        rows = uow.conn.execute(
            sa.select(o.uscc, o.clause, o.policy_id, o.period, p.amount_fen, p.settled_at, p.idempotency_key)
            .select_from(payments.join(offers, offers.c.id == payments.c.offer_id))
            .where(p.state == "paid").order_by(p.id)).all()
    data = [{"uscc": r.uscc, "clause": r.clause, "policy_id": r.policy_id, "period": r.period,
             "amount_fen": int(r.amount_fen), "paid_on": local_date(r.settled_at), "payment": r.idempotency_key}
            for r in rows]
    return pl.DataFrame(data, schema=received.SCHEMA).sort("uscc", "clause", "paid_on", "payment")


def digest(df: pl.DataFrame) -> str:
    """A content digest of a snapshot (independent of Parquet's encoding)."""
    text = json.dumps([[v.isoformat() if isinstance(v, date) else v for v in row] for row in df.rows()],
                      ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def publish_received(uow: UnitOfWork, store: ProfileStore, *, actor: User, clock: Clock = _now) -> Publication:
    """Publish every paid payment as the `received` snapshot of the profile store."""
    require(actor, Permission.PREPARE_PAYMENTS)
    rows = paid_rows(uow)
    sha = digest(rows)
    previous = received.latest(store.batches())
    if previous is not None and previous.file_sha256 == sha:
        return Publication(previous, False, rows.height)
    now = clock()
    batch = Batch(
        id=store.new_batch_id(now), source=received.SOURCE, file_name=f"拨付台账（{rows.height} 笔已到账）",
        file_sha256=sha,
        # the predecessor is part of the identity: a snapshot equal to an older one (never the
        # case while payments are only added) is still committed as the newest
        mapping_digest=f"{FORMAT}:{previous.id if previous else '-'}",
        loaded_at=now.astimezone(UTC).isoformat(timespec="seconds"), known_on=local_date(now).isoformat(),
        period="none", fields=[], lists=[], rows_total=rows.height, rows_loaded=rows.height, rows_rejected=0,
        facts=rows.height, list_entries=0, warnings=0)
    empty = pl.DataFrame(schema=REJECT_SCHEMA)
    committed = store.commit(batch, {received.TABLE: rows, "facts": pl.DataFrame(schema={"uscc": pl.String}),
                                     "lists": pl.DataFrame(schema={"uscc": pl.String, "list": pl.String}),
                                     "rejects": empty, "warnings": empty})
    return Publication(committed, committed.id == batch.id, rows.height)
