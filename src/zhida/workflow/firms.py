"""What the money flow needs to know of a firm from the profile store: its registered name (for
the 公示 list) and the receiving account the 财政局 has on file (for 待补正).

The store is the one the offers' match run read (its snapshot), so the 公示 shows the data the
offers were decided on."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import sqlalchemy as sa

from zhida.db.tables import notice_offers, offers
from zhida.db.uow import UnitOfWork
from zhida.matching.run import load_run
from zhida.profiles.facts import uscc_filter
from zhida.profiles.store import ProfileStore
from zhida.workflow.notices import BankAccount


def latest_facts(store: ProfileStore, usccs: Iterable[str], fields: list[str],
                 as_of: date) -> dict[str, dict[str, str]]:
    """Each firm's latest known value of some undated fields (later loads win)."""
    wanted = sorted(set(usccs))
    out: dict[str, dict[str, str]] = {}
    if not wanted:
        return out
    for batch in store.batches(known_by=as_of):   # commit order: a later load overrides
        have = [f for f in fields if f in batch.fields]
        if not have:
            continue
        df = store.facts(batch, ["uscc", *have]).filter(uscc_filter(wanted)).collect()
        for row in df.iter_rows(named=True):
            for f in have:
                if row[f] is not None and str(row[f]).strip():
                    out.setdefault(row["uscc"], {})[f] = str(row[f]).strip()
    return out


def names(store: ProfileStore, usccs: Iterable[str], as_of: date) -> dict[str, str]:
    return {u: v["enterprise_name"] for u, v in latest_facts(store, usccs, ["enterprise_name"], as_of).items()
            if "enterprise_name" in v}


def accounts_on_file(store: ProfileStore, usccs: Iterable[str], as_of: date) -> dict[str, BankAccount]:
    """The receiving accounts the 财政局 feed has for these firms (firms without one are absent)."""
    usccs = list(usccs)
    facts = latest_facts(store, usccs, ["enterprise_name", "bank_name", "bank_account"], as_of)
    return {u: BankAccount(account_name=v.get("enterprise_name", u), bank=v["bank_name"], account_no=v["bank_account"])
            for u, v in facts.items() if v.get("bank_account") and v.get("bank_name")}



def notice_firms(uow: UnitOfWork, notice_id: int) -> tuple[list[str], ProfileStore | None]:
    """The firms of a 公示, and the profile store their offers' match run read."""
    with uow:
        rows = uow.conn.execute(sa.select(offers.c.uscc, offers.c.run_id).select_from(
            notice_offers.join(offers, offers.c.id == notice_offers.c.offer_id))
            .where(notice_offers.c.notice_id == notice_id).order_by(offers.c.uscc)).all()
    if not rows:
        return [], None
    run = load_run(uow, rows[-1].run_id)
    return [r.uscc for r in rows], run.snapshot.open()
