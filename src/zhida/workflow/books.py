"""The ledger as finance reads it: every account's balance, and whether the books balance."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from zhida.accounts import Permission, User, require
from zhida.db.tables import ledger_entries
from zhida.db.uow import UnitOfWork
from zhida.workflow import ledger


@dataclass(frozen=True)
class Books:
    balances: dict[str, int]    # account → fen
    transactions: int
    balanced: bool
    problem: str | None


def books(uow: UnitOfWork, *, actor: User) -> Books:
    require(actor, Permission.PREPARE_PAYMENTS)
    t = ledger_entries
    with uow:
        rows = uow.conn.execute(sa.select(t.c.account, sa.func.sum(t.c.amount_fen)).group_by(t.c.account)
                                .order_by(t.c.account)).all()
        count = int(uow.conn.execute(sa.select(sa.func.count(sa.distinct(t.c.txn)))).scalar_one())
    try:
        ledger.check_balanced(uow)
        problem = None
    except ledger.LedgerError as e:
        problem = str(e)
    return Books(balances={a: int(s) for a, s in rows}, transactions=count, balanced=problem is None,
                 problem=problem)
