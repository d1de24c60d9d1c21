"""An amount edited directly in the database is found by comparing the money tables with the
audit log (`zhida.workflow.reconcile`), on SQLite and PostgreSQL — while `zhida audit verify`
still finds the log itself intact."""

import pytest
import sqlalchemy as sa

from zhida.accounts import SYSTEM, NotAllowed
from zhida.db import tables as t
from zhida.workflow.payments import fund_budget, schedule_payment, settle_payment
from zhida.workflow.reconcile import reconcile

from .conftest import FINANCE, REVIEWER
from .test_batches import POLICY, confirmed_offers


def _paid(database, run, setup):
    """Confirmed offers, one paid, one scheduled, the rest still confirmed."""
    confirmed = confirmed_offers(database, run, setup)
    fund_budget(database.uow(), POLICY, 2024, sum(o.amount_fen for o in confirmed), actor=FINANCE)
    paid = schedule_payment(database.uow(), confirmed[0].id, actor=FINANCE)
    settle_payment(database.uow(), paid.idempotency_key, paid=True, actor=FINANCE)
    pending = schedule_payment(database.uow(), confirmed[1].id, actor=FINANCE)
    return confirmed, paid, pending


def _edit(database, statement):
    with database.engine.begin() as conn:
        conn.execute(statement)


def test_the_tables_agree_with_the_log_after_the_services_wrote_them(database, published_run, setup):
    confirmed, _, _ = _paid(database, published_run, setup)
    found = reconcile(database.uow(), actor=SYSTEM)
    assert found.ok, [str(m) for m in found.mismatches]
    assert found.offers >= len(confirmed) and found.payments == 2


def test_an_edited_payment_amount_is_found(database, published_run, setup):
    _, paid, _ = _paid(database, published_run, setup)
    _edit(database, sa.update(t.payments).where(t.payments.c.idempotency_key == paid.idempotency_key)
          .values(amount_fen=paid.amount_fen + 100))
    found = reconcile(database.uow(), actor=SYSTEM)
    assert [(m.what, m.field) for m in found.mismatches] == [(f"拨付 {paid.idempotency_key}", "金额")]
    assert str(found.mismatches[0]).startswith(
        f"拨付 {paid.idempotency_key} 的金额：表中为 {paid.amount_fen + 100} 分，审计日志第 ")
    assert str(found.mismatches[0]).endswith(f"条记为 {paid.amount_fen} 分")


def test_an_edited_offer_amount_firm_or_state_is_found(database, published_run, setup):
    confirmed, _, pending = _paid(database, published_run, setup)
    raised, moved = confirmed[2], confirmed[3]             # [0] is paid, [1] scheduled
    _edit(database, sa.update(t.offers).where(t.offers.c.id == raised.id).values(amount_fen=raised.amount_fen * 10))
    _edit(database, sa.update(t.offers).where(t.offers.c.id == moved.id).values(uscc="91330300MA2XXXXX0X"))
    _edit(database, sa.update(t.payments).where(t.payments.c.idempotency_key == pending.idempotency_key)
          .values(state="paid"))
    found = reconcile(database.uow(), actor=SYSTEM)
    assert sorted((m.what, m.field, m.stored, m.logged) for m in found.mismatches) == sorted([
        (f"事项 {raised.id}", "金额", f"{raised.amount_fen * 10} 分", f"{raised.amount_fen} 分"),
        (f"事项 {moved.id}", "企业", "91330300MA2XXXXX0X", moved.uscc),
        (f"拨付 {pending.idempotency_key}", "状态", "paid", "pending"),
    ])
    assert all(m.idx is not None for m in found.mismatches)


def test_a_row_written_beside_the_services_is_found(database, published_run, setup):
    _, paid, _ = _paid(database, published_run, setup)
    with database.uow() as uow:
        row = uow.conn.execute(sa.select(t.payments).where(t.payments.c.idempotency_key == paid.idempotency_key)
                               ).mappings().one()
    _edit(database, sa.insert(t.payments).values(offer_id=row["offer_id"], idempotency_key="offer-x-9",
                                                 amount_fen=5_000_00, state="failed", tranche="full",
                                                 created_at=row["created_at"]))
    found = reconcile(database.uow(), actor=SYSTEM)
    assert [(m.what, m.field) for m in found.mismatches] == [("拨付 offer-x-9", "审计记录")]


def test_only_an_auditor_reconciles(database):
    with pytest.raises(NotAllowed):
        reconcile(database.uow(), actor=REVIEWER)
