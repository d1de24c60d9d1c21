"""The outbox: durable match events ("newly eligible for X", "no longer eligible", "one
condition short of X" for clauses that keep near misses) that notifications consume. Events
are written in the same transaction as the update that caused them; a consumer reads pending
events in order and marks them delivered."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import polars as pl
import sqlalchemy as sa

from zhida.db.tables import match_events
from zhida.db.uow import UnitOfWork

NEWLY_ELIGIBLE = "newly_eligible"
NO_LONGER_ELIGIBLE = "no_longer_eligible"
AMOUNT_CHANGED = "amount_changed"
NEWLY_NEAR_MISS = "newly_near_miss"   # was neither eligible nor one condition short; now is the latter
KIND_LABELS = {NEWLY_ELIGIBLE: "新符合", NO_LONGER_ELIGIBLE: "不再符合", AMOUNT_CHANGED: "金额变化",
               NEWLY_NEAR_MISS: "差一项即可享受"}


@dataclass(frozen=True)
class Event:
    id: int
    created_at: datetime
    update_id: int
    run_id: str
    kind: str
    uscc: str
    clause: str
    policy_version: str | None
    old_status: str | None
    new_status: str | None
    old_amount_fen: int | None
    new_amount_fen: int | None
    delivered_at: datetime | None


def diff_events(old: pl.DataFrame, new: pl.DataFrame) -> pl.DataFrame:
    """Events between two sets of results over the same scope: a pair that became eligible,
    stopped being eligible, stayed eligible with another amount, or became a near miss
    without having been eligible (a nudge: one fact away)."""
    key = ["uscc", "clause"]
    o = old.select(*key, old_status=pl.col("status").cast(pl.String), old_amount_fen="amount_fen")
    n = new.select(*key, "policy_version", new_status=pl.col("status").cast(pl.String), new_amount_fen="amount_fen")
    both = o.join(n, on=key, how="full", coalesce=True)
    was, now = pl.col("old_status") == "eligible", pl.col("new_status") == "eligible"
    was, now = was.fill_null(False), now.fill_null(False)
    kind = (pl.when(now & ~was).then(pl.lit(NEWLY_ELIGIBLE))
            .when(was & ~now).then(pl.lit(NO_LONGER_ELIGIBLE))
            .when(was & now & (pl.col("old_amount_fen").ne_missing(pl.col("new_amount_fen"))))
            .then(pl.lit(AMOUNT_CHANGED))
            .when((pl.col("new_status") == "near_miss").fill_null(False)
                  & (pl.col("old_status") != "near_miss").fill_null(True) & ~was)
            .then(pl.lit(NEWLY_NEAR_MISS)))
    return both.with_columns(kind=kind).filter(pl.col("kind").is_not_null()).sort(key)


def append_events(uow: UnitOfWork, events: pl.DataFrame, *, update_id: int, run_id: str, at: datetime) -> int:
    """Write events inside the caller's transaction (the update that caused them)."""
    if events.is_empty():
        return 0
    rows = [{**r, "update_id": update_id, "run_id": run_id, "created_at": at}
            for r in events.select("kind", "uscc", "clause", "policy_version", "old_status", "new_status",
                                   "old_amount_fen", "new_amount_fen").iter_rows(named=True)]
    uow.conn.execute(sa.insert(match_events), rows)
    return len(rows)


def pending_events(uow: UnitOfWork, limit: int = 1000) -> list[Event]:
    """Events not yet delivered, oldest first."""
    t = match_events
    return _select(uow, sa.select(t).where(t.c.delivered_at.is_(None)).order_by(t.c.id).limit(limit))


def events_of_enterprise(uow: UnitOfWork, uscc: str) -> list[Event]:
    t = match_events
    return _select(uow, sa.select(t).where(t.c.uscc == uscc).order_by(t.c.id))


def mark_delivered(uow: UnitOfWork, ids: Sequence[int], at: datetime) -> int:
    """Mark events delivered (an event already delivered keeps its first time); returns how many changed."""
    t = match_events
    with uow:
        changed = uow.conn.execute(sa.update(t).where(t.c.id.in_(list(ids)) & t.c.delivered_at.is_(None))
                                   .values(delivered_at=at)).rowcount
        uow.commit()
    return int(changed)


def _select(uow: UnitOfWork, q: sa.Select) -> list[Event]:  # type: ignore[type-arg]
    with uow:
        return [Event(**r) for r in uow.conn.execute(q).mappings()]
