"""The ledger: a posting that does not balance is refused before anything is written, and the
database itself refuses to change or remove an entry (migration 0018: a trigger on each backend),
so a correction can only be a new transaction. On SQLite and PostgreSQL."""

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from zhida.db import tables as t
from zhida.workflow import ledger

AT = datetime(2024, 9, 1, tzinfo=UTC)
BUDGET = ledger.budget_account("p", 2024)


def _entries(database) -> list[tuple[str, int]]:
    with database.uow() as uow:
        return [tuple(r) for r in uow.conn.execute(sa.select(t.ledger_entries.c.account, t.ledger_entries.c.amount_fen)
                                                   .order_by(t.ledger_entries.c.id))]


def _post(database, entries) -> str:
    with database.uow() as uow:
        txn = ledger.post(uow, entries, at=AT, memo="测试")
        uow.commit()
    return txn


def test_an_unbalanced_posting_is_refused_and_nothing_is_written(database):
    with pytest.raises(ledger.LedgerError, match="记账不平衡：分录合计 1 分，应为 0"):
        _post(database, [(ledger.TREASURY, -100), (BUDGET, 101)])
    with pytest.raises(ledger.LedgerError, match="至少需要两个分录"):
        _post(database, [(BUDGET, 0)])
    with pytest.raises(ledger.LedgerError, match="必须是整数（分）"):
        _post(database, [(ledger.TREASURY, -1.5), (BUDGET, 1.5)])
    assert _entries(database) == []
    _post(database, [(ledger.TREASURY, -100), (BUDGET, 100)])
    assert _entries(database) == [(ledger.TREASURY, -100), (BUDGET, 100)]
    ledger.check_balanced(database.uow())


def test_the_database_refuses_to_update_or_delete_a_ledger_entry(database):
    _post(database, [(ledger.TREASURY, -100), (BUDGET, 100)])
    for change in (sa.update(t.ledger_entries).where(t.ledger_entries.c.account == BUDGET).values(amount_fen=1),
                   sa.delete(t.ledger_entries).where(t.ledger_entries.c.account == BUDGET)):
        with pytest.raises(sa.exc.DBAPIError, match="账簿只能追加"), database.uow() as uow:
            uow.conn.execute(change)
            uow.commit()
    if database.engine.dialect.name == "postgresql":
        with pytest.raises(sa.exc.DBAPIError, match="账簿只能追加"), database.uow() as uow:
            uow.conn.execute(sa.text("TRUNCATE ledger_entries"))
            uow.commit()
    assert _entries(database) == [(ledger.TREASURY, -100), (BUDGET, 100)]
    # the way to correct: a new, balanced transaction
    _post(database, [(BUDGET, -100), (ledger.TREASURY, 100)])
    assert ledger.balance(database.uow(), BUDGET) == 0
    ledger.check_balanced(database.uow())
