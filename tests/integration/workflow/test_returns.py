"""A failed payment: the firm is told the bank's reason at once; finance returns it to the firm
(拨付失败 → 待补正) with what to do and a new deadline; the firm corrects its account, and the
next batch pays it once. The money went back to the budget when the payment failed, and the
ledger balances throughout. On SQLite and PostgreSQL."""

from datetime import date

import pytest
import sqlalchemy as sa

from zhida.accounts import NotAllowed
from zhida.db import tables as t
from zhida.workflow import ledger
from zhida.workflow.batches import approve_batch, prepare_batch
from zhida.workflow.notifications import notifications_of
from zhida.workflow.offers import accept, get_offer
from zhida.workflow.payments import fund_budget, paid_payments, settle_payment
from zhida.workflow.returns import return_to_firm
from zhida.workflow.states import OfferState, TransitionNotAllowed

from .conftest import CLAUSE, FINANCE, REVIEWER, firm
from .test_batches import FINANCE2, POLICY, confirmed_offers

S = OfferState


def _committed(database) -> int:
    with database.uow() as uow:
        return int(uow.conn.execute(sa.select(t.budgets.c.committed_fen)).scalar_one())


def test_a_failed_payment_is_returned_to_the_firm_with_the_banks_reason_and_paid_once_after_correction(
        database, published_run, setup):
    confirmed = confirmed_offers(database, published_run, setup)
    total = sum(o.amount_fen for o in confirmed)
    fund_budget(database.uow(), POLICY, 2024, total, actor=FINANCE)
    batch = prepare_batch(database.uow(), CLAUSE, 2024, actor=FINANCE)
    approve_batch(database.uow(), batch.id, actor=FINANCE2)
    bad, *good = batch.payments
    settle_payment(database.uow(), bad.idempotency_key, paid=False, reason="账户已销户", actor=FINANCE)
    for p in good:
        settle_payment(database.uow(), p.idempotency_key, paid=True, actor=FINANCE)
    offer = get_offer(database.uow(), bad.offer_id)
    who = firm(offer.uscc)

    told = notifications_of(database.uow(), offer.uscc, actor=who)[0]
    assert told.kind == "payment_failed" and "账户已销户" in told.body and told.offer_id == offer.id

    with pytest.raises(NotAllowed):
        return_to_firm(database.uow(), offer.id, actor=REVIEWER, respond_by=date(2024, 12, 31))
    with pytest.raises(TransitionNotAllowed, match="只有“拨付失败”的事项"):
        return_to_firm(database.uow(), good[0].offer_id, actor=FINANCE, respond_by=date(2024, 12, 31))

    returned = return_to_firm(database.uow(), offer.id, actor=FINANCE, respond_by=date(2024, 12, 31))
    assert returned.state is S.NEEDS_CORRECTION and returned.confirm_by == date(2024, 12, 31)
    note = notifications_of(database.uow(), offer.uscc, actor=who)[0]
    assert note.kind == "payment_returned"
    assert "银行返回原因：账户已销户" in note.body and "更正收款账户" in note.body and "2024-12-31" in note.body
    with pytest.raises(TransitionNotAllowed):          # again: it is no longer 拨付失败
        return_to_firm(database.uow(), offer.id, actor=FINANCE, respond_by=date(2024, 12, 31))
    # the failed payment's money is back in the budget; nothing is payable; the ledger balances
    paid = total - bad.amount_fen
    assert ledger.balance(database.uow(), ledger.budget_account(POLICY, 2024)) == bad.amount_fen
    assert ledger.balance(database.uow(), ledger.payable_account(POLICY, 2024)) == 0
    assert ledger.balance(database.uow(), ledger.paid_account(POLICY, 2024)) == paid
    assert _committed(database) == paid
    ledger.check_balanced(database.uow())

    accept(database.uow(), offer.id, actor=who, account_name="某某有限公司", account_bank="工商银行",
           account_no="6222 0000 8765 4321", pledge=True)
    assert get_offer(database.uow(), offer.id).state is S.CONFIRMED
    again = prepare_batch(database.uow(), CLAUSE, 2024, actor=FINANCE)
    assert [(p.offer_id, p.idempotency_key) for p in again.payments] == [(offer.id, f"offer-{offer.id}-2")]
    approve_batch(database.uow(), again.id, actor=FINANCE2)
    settle_payment(database.uow(), again.payments[0].idempotency_key, paid=True, actor=FINANCE)
    assert get_offer(database.uow(), offer.id).state is S.PAID and paid_payments(database.uow(), offer.id) == 1
    assert ledger.balance(database.uow(), ledger.paid_account(POLICY, 2024)) == total
    assert ledger.balance(database.uow(), ledger.budget_account(POLICY, 2024)) == 0
    ledger.check_balanced(database.uow())
    with database.uow() as uow:
        actions = uow.conn.execute(sa.select(t.offer_events.c.action).where(t.offer_events.c.offer_id == offer.id)
                                   .order_by(t.offer_events.c.id)).scalars().all()
        detail = uow.conn.execute(sa.select(t.offer_events.c.detail).where(
            (t.offer_events.c.offer_id == offer.id) & (t.offer_events.c.action == "return"))).scalar_one()
    assert actions[-6:] == ["fail", "return", "correct", "accept", "schedule", "settle"]
    assert detail["reason"] == "账户已销户" and detail["payment"] == bad.idempotency_key


def test_a_returned_offer_not_confirmed_by_its_new_deadline_is_deemed_waived(database, published_run, setup):
    from zhida.workflow.deadlines import expire_overdue

    confirmed = confirmed_offers(database, published_run, setup)
    fund_budget(database.uow(), POLICY, 2024, sum(o.amount_fen for o in confirmed), actor=FINANCE)
    batch = prepare_batch(database.uow(), CLAUSE, 2024, actor=FINANCE)
    bad = batch.payments[0]
    settle_payment(database.uow(), bad.idempotency_key, paid=False, reason="户名不符", actor=FINANCE)
    return_to_firm(database.uow(), bad.offer_id, actor=FINANCE, respond_by=date(2024, 12, 31),
                   note="请按营业执照名称更正开户名称")
    uscc = get_offer(database.uow(), bad.offer_id).uscc
    body = notifications_of(database.uow(), uscc, actor=firm(uscc))[0].body
    assert "户名不符" in body and "请按营业执照名称更正开户名称" in body
    assert expire_overdue(database.uow(), date(2024, 12, 31), actor=REVIEWER) == []   # the day itself counts
    assert expire_overdue(database.uow(), date(2025, 1, 1), actor=REVIEWER) == [bad.offer_id]
    assert get_offer(database.uow(), bad.offer_id).state is S.WAIVED
    ledger.check_balanced(database.uow())
