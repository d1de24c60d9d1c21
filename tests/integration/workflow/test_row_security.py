"""Row-level security beyond offers (migration 0017): on PostgreSQL a transaction narrowed to a
department or a firm sees, even through a raw query that forgets every filter, only the
payments, payment batches, 公示 notices and objections and reminders of its offers, and the
notifications and data-use records of the firms it handles; it cannot update a foreign row; and
the side effects a narrowed transaction writes (a notification, a data-use record) are accepted."""

from datetime import UTC, date, datetime

import sqlalchemy as sa

from zhida.db import tables as t
from zhida.db.scope import Scope, restrict

from .test_scoping import _two_departments

NOW = datetime(2024, 6, 30, 9, 0, tzinfo=UTC)


def _money_rows(db, hrss, sti):
    """One of everything per department, written unscoped (as the services do today)."""
    ids = {}
    with db.uow() as uow:
        c = uow.conn
        for dept, offer in (("hrss", hrss[0]), ("sti", sti[0])):
            pay = c.execute(sa.insert(t.payments).values(
                offer_id=offer.id, idempotency_key=f"key-{dept}", amount_fen=100_00, state="pending",
                created_at=NOW).returning(t.payments.c.id)).scalar_one()
            batch = c.execute(sa.insert(t.payment_batches).values(
                clause=offer.clause, year=2024, state="prepared", prepared_by="finance", count=1, total_fen=100_00,
                created_at=NOW).returning(t.payment_batches.c.id)).scalar_one()
            c.execute(sa.insert(t.payment_batch_items).values(payment_id=pay, batch_id=batch))
            notice = c.execute(sa.insert(t.notices).values(
                clause=offer.clause, department=dept, start_date=date(2024, 6, 1), end_date=date(2024, 6, 7),
                state="open", started_by="reviewer", created_at=NOW).returning(t.notices.c.id)).scalar_one()
            c.execute(sa.insert(t.notice_offers).values(notice_id=notice, offer_id=offer.id))
            c.execute(sa.insert(t.notice_objections).values(notice_id=notice, offer_id=offer.id, raised_by="public",
                                                            text="异议", raised_at=NOW))
            note = c.execute(sa.insert(t.notifications).values(
                uscc=offer.uscc, kind="offer_confirm", title="请确认", body="…", offer_id=offer.id,
                created_at=NOW).returning(t.notifications.c.id)).scalar_one()
            c.execute(sa.insert(t.offer_reminders).values(offer_id=offer.id, day=date(2024, 6, 2),
                                                          notification_id=note))
            c.execute(sa.insert(t.data_use).values(used_at=NOW, scope="enterprise", uscc=offer.uscc, fields=["x"],
                                                   purpose="审核", actor="reviewer", enterprises=1))
            ids[dept] = pay
        uow.commit()
    return ids


TABLES = (t.payments, t.payment_batches, t.payment_batch_items, t.notices, t.notice_offers, t.notice_objections,
          t.offer_reminders)
STRANGER = "91330300MA2STRANGE"


def _count(db, scope, table):
    with db.uow() as uow:
        restrict(uow, scope)
        return uow.conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def test_on_postgresql_payments_notices_and_messages_follow_their_offers_department(pg, setup, store, policies):
    hrss, sti = _two_departments(pg, setup, store, policies)
    _money_rows(pg, hrss, sti)
    for table in TABLES:
        assert _count(pg, Scope(department="hrss"), table) == 1, table.name
        assert _count(pg, Scope(department="sti"), table) == 1, table.name
        assert _count(pg, Scope(department="tax"), table) == 0, table.name
        assert _count(pg, Scope(everything=True), table) == 2, table.name
    with pg.uow() as uow:                                             # a firm no department handles
        uow.conn.execute(sa.insert(t.notifications).values(uscc=STRANGER, kind="note", title="t", body="b",
                                                           created_at=NOW))
        uow.conn.execute(sa.insert(t.data_use).values(used_at=NOW, scope="enterprise", uscc=STRANGER, fields=["x"],
                                                      purpose="核查", actor="auditor", enterprises=1))
        uow.commit()
    for scope in (Scope(department="hrss"), Scope(uscc=hrss[0].uscc)):
        for table in (t.notifications, t.data_use):
            with pg.uow() as uow:
                restrict(uow, scope)
                seen = uow.conn.execute(sa.select(table.c.uscc).where(table.c.uscc == STRANGER)).all()
            assert seen == [], (scope, table.name)
    with pg.uow() as uow:
        recorded = uow.conn.execute(sa.select(sa.func.count()).select_from(t.data_use)).scalar_one()
    assert _count(pg, Scope(everything=True), t.data_use) == recorded   # oversight (the auditor) reads all


def test_on_postgresql_a_firm_sees_its_own_payments_and_messages_but_no_batch(pg, setup, store, policies):
    hrss, sti = _two_departments(pg, setup, store, policies)
    _money_rows(pg, hrss, sti)
    own = Scope(uscc=hrss[0].uscc)
    offers_of_firm = sum(1 for o in (hrss[0], sti[0]) if o.uscc == hrss[0].uscc)
    assert _count(pg, own, t.payments) == offers_of_firm
    assert _count(pg, own, t.notifications) == offers_of_firm
    assert _count(pg, own, t.data_use) == offers_of_firm
    assert _count(pg, own, t.payment_batches) == 0                       # batch totals are not a firm's business
    stranger = Scope(uscc=STRANGER)
    assert all(_count(pg, stranger, table) == 0 for table in (*TABLES, t.data_use))


def test_on_postgresql_a_narrowed_transaction_cannot_touch_a_foreign_payment_but_still_records_side_effects(
        pg, setup, store, policies):
    hrss, sti = _two_departments(pg, setup, store, policies)
    ids = _money_rows(pg, hrss, sti)
    with pg.uow() as uow:
        restrict(uow, Scope(department="hrss"))
        moved = uow.conn.execute(sa.update(t.payments).where(t.payments.c.id == ids["sti"]).values(state="paid"))
        assert moved.rowcount == 0
        uow.conn.execute(sa.insert(t.notifications).values(uscc=hrss[0].uscc, kind="note", title="t", body="b",
                                                           offer_id=hrss[0].id, created_at=NOW))
        added = uow.conn.execute(sa.insert(t.data_use).values(
            used_at=NOW, scope="enterprise", uscc=hrss[0].uscc, fields=["x"], purpose="审核", actor="reviewer",
            enterprises=1).returning(t.data_use.c.id)).scalar_one()            # RETURNING: it must be readable
        uow.commit()
    with pg.uow() as uow:
        state = uow.conn.execute(sa.select(t.payments.c.state).where(t.payments.c.id == ids["sti"])).scalar_one()
        assert state == "pending"
        assert uow.conn.execute(sa.select(t.data_use.c.purpose).where(t.data_use.c.id == added)).scalar_one() == "审核"
