"""Data-use records by group commit (decision 0022), on SQLite and PostgreSQL: a use is on disk,
with its audit entry, by the time `record` returns; concurrent uses share transactions."""

import json
import threading
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from zhida.db.tables import audit_log
from zhida.profiles.datause import DataUseError, uses_of_enterprise
from zhida.profiles.datause_writer import DataUseWriter

A = "914403001922038216"


def use(i: int = 0, **kw):
    return {"uscc": A, "fields": ["revenue", "insured"], "purpose": "企业查看本企业匹配报告", "actor": f"firm{i}",
            "legal_basis": "政策直达平台职责", "used_at": datetime(2025, 7, 1, 9, tzinfo=UTC),
            "as_of": date(2024, 6, 30), **kw}


def audited(database, use_id):
    with database.uow() as u:
        entries = u.conn.execute(sa.select(audit_log.c.entry).where(audit_log.c.kind == "data.use")).scalars().all()
    return [e for e in map(json.loads, entries) if e["data"]["use"] == use_id]


def test_a_use_is_committed_with_its_audit_entry_when_record_returns(database):
    writer = DataUseWriter(database.uow)
    use_id = writer.record(**use())
    found = uses_of_enterprise(database.uow(), A)       # another connection: only what was committed
    assert [(u.id, u.actor, u.fields) for u in found] == [(use_id, "firm0", ("insured", "revenue"))]
    assert len(audited(database, use_id)) == 1


def test_concurrent_views_share_transactions_and_none_is_lost(database):
    gate = threading.Event()
    first = threading.Event()

    def uow():                                            # the first commit waits until the others queue
        if not first.is_set():
            first.set()
            gate.wait(10)
        return database.uow()

    writer = DataUseWriter(uow)
    ids: list[int] = []
    lock = threading.Lock()

    def view(i):
        got = writer.record(**use(i))
        with lock:
            ids.append(got)

    threads = [threading.Thread(target=view, args=(i,)) for i in range(40)]
    threads[0].start()
    first.wait(10)
    for t in threads[1:]:
        t.start()
    threading.Timer(0.5, gate.set).start()
    for t in threads:
        t.join(30)
    assert len(ids) == len(set(ids)) == 40
    stored = uses_of_enterprise(database.uow(), A)
    assert sorted(u.id for u in stored) == sorted(ids)
    assert {u.actor for u in stored} == {f"firm{i}" for i in range(40)}
    assert all(len(audited(database, i)) == 1 for i in ids)
    assert writer.commits < 40                           # the 39 who waited went in fewer transactions


def test_an_incomplete_use_is_refused_at_once_and_nothing_is_written(database):
    writer = DataUseWriter(database.uow)
    with pytest.raises(DataUseError) as e:
        writer.record(**use(legal_basis=None))
    assert "法律依据" in str(e.value)
    assert uses_of_enterprise(database.uow(), A) == [] and writer.commits == 0


def test_a_failed_transaction_is_reported_to_its_caller_and_the_next_use_still_commits(database):
    calls = {"n": 0}

    def uow():
        calls["n"] += 1
        if calls["n"] == 1:
            raise sa.exc.OperationalError("INSERT", {}, Exception("database is locked"))
        return database.uow()

    writer = DataUseWriter(uow)
    with pytest.raises(sa.exc.OperationalError):
        writer.record(**use(1))
    kept = writer.record(**use(2))
    assert [(u.id, u.actor) for u in uses_of_enterprise(database.uow(), A)] == [(kept, "firm2")]
