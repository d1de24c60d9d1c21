"""The audit log on SQLite and PostgreSQL: entries are numbered at commit (a rollback leaves
no trace), checkpoints verify, and the verifier catches an altered, a deleted, an inserted and a
reordered row — each test edits the stored log directly, as an insider with database access would."""

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from zhida.accounts import SYSTEM
from zhida.audit import log, merkle
from zhida.audit.note import Signer
from zhida.db import tables as t

ORIGIN = "zhida.test/audit"
AT = datetime(2026, 12, 4, 9, 30, tzinfo=UTC)


@pytest.fixture
def signer():
    return Signer.generate(ORIGIN)


def append(database, n, start=0):
    for i in range(start, start + n):
        with database.uow() as uow:
            log.record(uow, kind="offer.approve", actor="reviewer", subject=f"offer:{i}", data={"n": i},
                       clock=lambda: AT)
            uow.commit()


@pytest.fixture
def filled(database, signer):
    append(database, 6)
    log.checkpoint(database.uow(), signer, origin=ORIGIN, actor=SYSTEM)           # size 6
    append(database, 5, start=6)
    log.checkpoint(database.uow(), signer, origin=ORIGIN, actor=SYSTEM)           # size 11
    return database


def edit(database, sql, **params):
    with database.engine.begin() as conn:
        conn.execute(sa.text(sql), params)


def test_entries_are_numbered_at_commit_and_a_rollback_leaves_nothing(database):
    with database.uow() as uow:
        log.record(uow, kind="offer.approve", actor="reviewer", subject="offer:1", clock=lambda: AT)
        # no commit: rolled back
    append(database, 2)
    entries = log.entries(database.uow(), actor=SYSTEM)
    assert [e.idx for e in entries] == [1, 0] and entries[0].subject == "offer:1" and entries[0].at == AT
    with database.uow() as uow:
        assert uow.conn.execute(sa.select(t.audit_head.c.size)).scalar_one() == 2


def test_a_clean_log_verifies_with_every_checkpoint(filled, signer):
    report = log.verify(filled.uow(), signer.verifier(), actor=SYSTEM)
    assert report.ok and report.size == 11 and report.checkpoints == 2 and report.first_bad is None


def test_an_altered_row_is_caught_at_its_index(filled, signer):
    edit(filled, "UPDATE audit_log SET entry = replace(entry, :a, :b) WHERE idx = 3", a='"n":3', b='"n":30')
    report = log.verify(filled.uow(), signer.verifier(), actor=SYSTEM)
    assert not report.ok and report.first_bad == 3 and "叶子哈希" in report.problems[0]


def test_an_altered_row_with_its_hash_recomputed_is_caught_by_the_checkpoints(filled, signer):
    with filled.engine.begin() as conn:
        entry = json.loads(conn.execute(sa.text("SELECT entry FROM audit_log WHERE idx = 8")).scalar_one())
        entry["actor"] = "someone-else"
        text = log.canonical(entry)
        conn.execute(sa.text("UPDATE audit_log SET entry = :e, actor = 'someone-else', leaf_hash = :h WHERE idx = 8"),
                     {"e": text.decode(), "h": merkle.SHA256.leaf(text).hex()})
    report = log.verify(filled.uow(), signer.verifier(), actor=SYSTEM)
    assert not report.ok and report.checkpoints == 1           # the first checkpoint (size 6) still holds
    assert report.first_bad == 6                               # after it: the most a root can say
    assert "检查点 2" in report.problems[0]


def test_a_deleted_row_is_caught(filled, signer):
    edit(filled, "DELETE FROM audit_log WHERE idx = 4")
    report = log.verify(filled.uow(), signer.verifier(), actor=SYSTEM)
    assert report.first_bad == 4 and "缺失" in report.problems[0]


def test_a_deleted_last_row_is_caught(filled, signer):
    edit(filled, "DELETE FROM audit_log WHERE idx = 10")
    report = log.verify(filled.uow(), signer.verifier(), actor=SYSTEM)
    assert report.first_bad == 10 and "末尾的条目被删除" in report.problems[0]


def test_an_inserted_row_is_caught(filled, signer):
    # make room at index 5 by moving the later rows up, then insert a forged entry there
    edit(filled, "UPDATE audit_log SET idx = idx + 100 WHERE idx >= 5")
    edit(filled, "UPDATE audit_log SET idx = idx - 99 WHERE idx >= 105")
    forged = log.canonical({"idx": 5, "at": AT.isoformat(timespec="microseconds"), "actor": "x",
                            "kind": "offer.approve", "subject": "offer:99", "data": {}})
    edit(filled, "INSERT INTO audit_log (idx, at, actor, kind, subject, entry, leaf_hash) "
                 "VALUES (5, :at, 'x', 'offer.approve', 'offer:99', :e, :h)",
         at=AT, e=forged.decode(), h=merkle.SHA256.leaf(forged).hex())
    report = log.verify(filled.uow(), signer.verifier(), actor=SYSTEM)
    assert report.first_bad == 6 and "条目被移动" in report.problems[0]   # the row that was 5 now sits at 6


def test_an_appended_row_beyond_the_head_is_caught(filled, signer):
    forged = log.canonical({"idx": 11, "at": AT.isoformat(timespec="microseconds"), "actor": "x",
                            "kind": "offer.approve", "subject": "offer:99", "data": {}})
    edit(filled, "INSERT INTO audit_log (idx, at, actor, kind, subject, entry, leaf_hash) "
                 "VALUES (11, :at, 'x', 'offer.approve', 'offer:99', :e, :h)",
         at=AT, e=forged.decode(), h=merkle.SHA256.leaf(forged).hex())
    report = log.verify(filled.uow(), signer.verifier(), actor=SYSTEM)
    assert report.first_bad == 11 and "末尾被插入" in report.problems[0]


def test_reordered_rows_are_caught(filled, signer):
    edit(filled, "UPDATE audit_log SET idx = -1 WHERE idx = 2")
    edit(filled, "UPDATE audit_log SET idx = 2 WHERE idx = 7")
    edit(filled, "UPDATE audit_log SET idx = 7 WHERE idx = -1")
    report = log.verify(filled.uow(), signer.verifier(), actor=SYSTEM)
    assert report.first_bad == 2 and "条目被移动" in report.problems[0]


def test_a_forged_checkpoint_is_caught(filled, signer):
    edit(filled, "UPDATE audit_checkpoints SET note = replace(note, :a, :b) WHERE id = 1",
         a=f"{ORIGIN}\n6\n", b=f"{ORIGIN}\n5\n")
    report = log.verify(filled.uow(), signer.verifier(), actor=SYSTEM)
    assert not report.ok and "检查点 1" in report.problems[0] and report.checkpoints == 1


def test_no_checkpoint_is_signed_over_a_tampered_log(filled, signer):
    edit(filled, "UPDATE audit_log SET entry = replace(entry, :a, :b) WHERE idx = 3", a='"n":3', b='"n":30')
    with pytest.raises(log.AuditError, match="第 3 条"):
        log.checkpoint(filled.uow(), signer, origin=ORIGIN, actor=SYSTEM)


def test_inclusion_and_consistency_proofs_verify_standalone(filled):
    for cp in log.checkpoints(filled.uow()):
        for index in range(cp.size):
            p = log.inclusion(filled.uow(), index, cp.size, actor=SYSTEM)
            assert p.root == cp.root
            assert merkle.verify_inclusion(index, cp.size, merkle.SHA256.leaf(p.entry.encode()), p.proof, cp.root)
    first, second = log.checkpoints(filled.uow())
    c = log.consistency(filled.uow(), first.size, second.size)
    assert (c.first_root, c.second_root) == (first.root, second.root)
    assert merkle.verify_consistency(first.size, second.size, c.proof, first.root, second.root)
    assert not merkle.verify_consistency(first.size, second.size, c.proof, second.root, second.root)


def test_a_department_cosigns_a_checkpoint(filled, signer):
    hrss = Signer.generate("hrss.test")
    log.cosign(filled.uow(), 2, hrss, signer.verifier(), actor=SYSTEM, clock=lambda: AT)
    report = log.verify(filled.uow(), signer.verifier(), (hrss.verifier(),), actor=SYSTEM)
    assert report.checkpoints == 1       # only #2 is cosigned: #1 is reported as missing the witness


def test_sm3_logs_verify_and_the_algorithm_cannot_change_once_written(database, signer):
    log.use_hash(database.uow(), "sm3")
    append(database, 3)
    log.checkpoint(database.uow(), signer, origin=ORIGIN, actor=SYSTEM)
    assert log.verify(database.uow(), signer.verifier(), actor=SYSTEM).ok
    with database.uow() as uow:
        leaf = uow.conn.execute(sa.select(t.audit_log.c.leaf_hash, t.audit_log.c.entry)
                                .where(t.audit_log.c.idx == 0)).one()
    assert leaf.leaf_hash == merkle.SM3.leaf(leaf.entry.encode()).hex()
    with pytest.raises(log.AuditError, match="不能改用 sha256"):
        log.use_hash(database.uow(), "sha256")



def test_concurrent_appenders_get_dense_indexes(pg, signer):
    database = pg
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda i: append(database, 5, start=i * 5), range(8)))
    with database.uow() as uow:
        assert sorted(uow.conn.execute(sa.select(t.audit_log.c.idx)).scalars()) == list(range(40))
    log.checkpoint(database.uow(), signer, origin=ORIGIN, actor=SYSTEM)
    assert log.verify(database.uow(), signer.verifier(), actor=SYSTEM).ok
