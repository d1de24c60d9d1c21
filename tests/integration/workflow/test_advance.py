"""预先拨付: a share of each confirmed award paid now, the final amount set at settlement
(清算), the balance paid later or the overpaid part booked as owed back — the ledger balanced
and no tranche paid twice, on SQLite and PostgreSQL."""

import pytest
import sqlalchemy as sa

from zhida.db import tables as t
from zhida.errors import ZhidaError
from zhida.workflow import ledger
from zhida.workflow.batches import prepare_batch
from zhida.workflow.offers import OfferError, get_offer
from zhida.workflow.payments import fund_budget, paid_fen, schedule_payment, settle_advance, settle_payment
from zhida.workflow.states import OfferState, TransitionNotAllowed

from .conftest import CLAUSE, FINANCE
from .test_batches import POLICY, confirmed_offers

S = OfferState


def pay(database, batch, ok=True, reason=None):
    for p in batch.payments:
        settle_payment(database.uow(), p.idempotency_key, paid=ok, reason=reason, actor=FINANCE)


def test_an_advance_then_settlement_pays_the_balance_or_books_what_is_owed_back(database, published_run, setup):
    confirmed = confirmed_offers(database, published_run, setup)
    assert len(confirmed) >= 3
    total = sum(o.amount_fen for o in confirmed)
    fund_budget(database.uow(), POLICY, 2024, total, actor=FINANCE)

    advance = prepare_batch(database.uow(), CLAUSE, 2024, actor=FINANCE, advance_percent=70)
    assert {p.tranche for p in advance.payments} == {"advance"}
    assert {p.offer_id: p.amount_fen for p in advance.payments} == {o.id: o.amount_fen * 70 // 100 for o in confirmed}
    pay(database, advance)
    assert all(get_offer(database.uow(), o.id).state is S.ADVANCED for o in confirmed)
    with pytest.raises(OfferError, match="没有已确认、待拨付的事项"):
        prepare_batch(database.uow(), CLAUSE, 2024, actor=FINANCE)             # nothing confirmed is left
    with pytest.raises(TransitionNotAllowed):
        schedule_payment(database.uow(), confirmed[0].id, actor=FINANCE)          # nothing more before settlement
    with pytest.raises(OfferError, match="没有已清算、待拨付余款的事项"):
        prepare_batch(database.uow(), CLAUSE, 2024, actor=FINANCE, balance=True)

    more, same, less = confirmed[:3]
    advanced = {o.id: paid_fen(database.uow(), o.id) for o in (more, same, less)}
    with pytest.raises(ZhidaError, match="须写明依据"):
        settle_advance(database.uow(), more.id, more.amount_fen, actor=FINANCE, reason=" ")
    settle_advance(database.uow(), same.id, advanced[same.id], actor=FINANCE, reason="审计核定")
    settle_advance(database.uow(), less.id, advanced[less.id] - 5000, actor=FINANCE, reason="审计核减")
    assert get_offer(database.uow(), same.id).state is S.PAID and get_offer(database.uow(), less.id).state is S.PAID
    assert ledger.balance(database.uow(), ledger.recover_account(POLICY, 2024)) == 5000

    rest = [o for o in confirmed if o.id not in (same.id, less.id)]
    for o in rest:
        settle_advance(database.uow(), o.id, o.amount_fen, actor=FINANCE, reason="审计核定")
        assert get_offer(database.uow(), o.id).state is S.SETTLED
    balance = prepare_batch(database.uow(), CLAUSE, 2024, actor=FINANCE, balance=True)
    assert {p.offer_id: (p.tranche, p.amount_fen) for p in balance.payments} == {
        o.id: ("balance", o.amount_fen - o.amount_fen * 70 // 100) for o in rest}
    first, *others = balance.payments
    settle_payment(database.uow(), first.idempotency_key, paid=False, reason="账户冻结", actor=FINANCE)
    for p in others:
        settle_payment(database.uow(), p.idempotency_key, paid=True, actor=FINANCE)
    retry = prepare_batch(database.uow(), CLAUSE, 2024, actor=FINANCE)        # a failed balance goes again as it was
    assert [(p.offer_id, p.tranche, p.amount_fen) for p in retry.payments] == [
        (first.offer_id, "balance", first.amount_fen)]
    pay(database, retry)

    assert all(get_offer(database.uow(), o.id).state is S.PAID for o in confirmed)
    assert all(paid_fen(database.uow(), o.id) == o.amount_fen for o in rest)    # advance + balance = the award
    with database.uow() as uow:
        live = uow.conn.execute(sa.select(t.payments.c.offer_id, t.payments.c.tranche, sa.func.count())
                                .where(t.payments.c.state == "paid")
                                .group_by(t.payments.c.offer_id, t.payments.c.tranche)).all()
    assert all(n == 1 for _, _, n in live)                                     # no tranche paid twice
    paid_out = ledger.balance(database.uow(), ledger.paid_account(POLICY, 2024))
    assert paid_out == sum(o.amount_fen for o in rest) + advanced[same.id] + advanced[less.id] - 5000
    ledger.check_balanced(database.uow())


def test_an_advance_share_outside_1_to_99_percent_is_refused(database, published_run, setup):
    confirmed = confirmed_offers(database, published_run, setup)
    fund_budget(database.uow(), POLICY, 2024, sum(o.amount_fen for o in confirmed), actor=FINANCE)
    with pytest.raises(ZhidaError, match="预拨比例应在 1 至 99"):
        prepare_batch(database.uow(), CLAUSE, 2024, actor=FINANCE, advance_percent=100)
    assert all(get_offer(database.uow(), o.id).state is S.CONFIRMED for o in confirmed)
