"""The disbursement ledger: double-entry, append-only, integer fen.

Accounts are names (`treasury`, `budget:<policy>:<year>`, `payable:<policy>:<year>`,
`paid:<policy>:<year>`, and `recover:<policy>:<year>` for advances to be paid back); a
transaction is a set of entries that sum to zero, written in the caller's unit of work.
Nothing is updated or deleted: a reversal is a new transaction. The balance invariant — every
transaction sums to zero, so the whole ledger does — is checked on every write (`post`) and on
demand (`check_balanced`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa

from zhida.db.tables import ledger_entries
from zhida.db.uow import UnitOfWork
from zhida.errors import ZhidaError

TREASURY = "treasury"


class LedgerError(ZhidaError):
    """A transaction that does not balance, or a ledger that no longer does."""


def budget_account(policy_id: str, year: int) -> str:
    return f"budget:{policy_id}:{year}"


def payable_account(policy_id: str, year: int) -> str:
    return f"payable:{policy_id}:{year}"


def paid_account(policy_id: str, year: int) -> str:
    return f"paid:{policy_id}:{year}"


def recover_account(policy_id: str, year: int) -> str:
    """Owed back by firms: an advance (预先拨付) above the amount settled."""
    return f"recover:{policy_id}:{year}"


def post(uow: UnitOfWork, entries: Sequence[tuple[str, int]], *, at: datetime, memo: str,
         offer_id: int | None = None) -> str:
    """Append one balanced transaction (account, signed fen) inside the caller's transaction."""
    if len(entries) < 2:
        raise LedgerError("一笔记账至少需要两个分录（借与贷）。")
    if any(not isinstance(fen, int) or isinstance(fen, bool) for _, fen in entries):
        raise LedgerError("记账金额必须是整数（分）。")
    total = sum(fen for _, fen in entries)
    if total != 0:
        raise LedgerError(f"记账不平衡：分录合计 {total} 分，应为 0；{memo}")
    txn = uuid.uuid4().hex
    uow.conn.execute(sa.insert(ledger_entries), [
        {"txn": txn, "account": account, "amount_fen": fen, "offer_id": offer_id, "at": at, "memo": memo}
        for account, fen in entries])
    return txn


def balance(uow: UnitOfWork, account: str) -> int:
    with uow:
        total = uow.conn.execute(sa.select(sa.func.coalesce(sa.func.sum(ledger_entries.c.amount_fen), 0))
                                 .where(ledger_entries.c.account == account)).scalar_one()
    return int(total)


def check_balanced(uow: UnitOfWork) -> None:
    """Every transaction sums to zero (so the ledger does); raises naming the first that does not."""
    t = ledger_entries
    with uow:
        bad = uow.conn.execute(sa.select(t.c.txn, sa.func.sum(t.c.amount_fen)).group_by(t.c.txn)
                               .having(sa.func.sum(t.c.amount_fen) != 0).limit(1)).first()
    if bad is not None:
        raise LedgerError(f"账簿不平衡：交易 {bad[0]} 的分录合计 {bad[1]} 分；账簿只能追加，请核查是否被改动。")
