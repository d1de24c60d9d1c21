"""免申即享 from whitelist to paid, on SQLite and PostgreSQL: review, 公示, confirmation,
waiver, payment, failure and retry, a balanced ledger, and who may do what."""

from datetime import date

import pytest
import sqlalchemy as sa

from zhida.accounts import SYSTEM, NotAllowed
from zhida.db import tables as t
from zhida.workflow import ledger
from zhida.workflow.offers import OfferError, accept, create_offers, events_of, get_offer, offers_of_clause, transition
from zhida.workflow.payments import BudgetExceeded, fund_budget, paid_payments, schedule_payment, settle_payment
from zhida.workflow.states import OfferAction, OfferState, TransitionNotAllowed

from .conftest import CLAUSE, FINANCE, OTHER_REVIEWER, REVIEWER, firm

A, S = OfferAction, OfferState
POLICY = CLAUSE.split("/")[0]


def _offers(database, run, setup):
    return create_offers(database.uow(), run, setup.data_dir, CLAUSE, department="hrss", actor=SYSTEM,
                         confirm_by=date(2024, 9, 30))


def _accept(database, offer):
    return accept(database.uow(), offer.id, actor=firm(offer.uscc), account_name="某某有限公司",
                  account_bank="温州银行", account_no="6222 0000 1234 5678", pledge=True)


def test_a_whitelist_goes_to_paid_for_every_confirming_firm_and_the_ledger_balances(database, published_run, setup):
    made = _offers(database, published_run, setup)
    assert len(made) >= 6 and all(o.state is S.PENDING_REVIEW and o.amount_fen > 0 for o in made)
    assert _offers(database, published_run, setup) == []                     # idempotent: no second offer
    excluded, objected, declined, silent, *confirming = made
    uow = database.uow
    transition(uow(), excluded.id, A.EXCLUDE, actor=REVIEWER, detail={"reason": "已享受同类补贴"})
    for o in [objected, declined, silent, *confirming]:
        transition(uow(), o.id, A.APPROVE, actor=REVIEWER)
        transition(uow(), o.id, A.START_NOTICE, actor=REVIEWER)
    transition(uow(), objected.id, A.OBJECT, actor=firm(confirming[0].uscc),
               detail={"objection": "该企业已停产"})
    transition(uow(), objected.id, A.UPHOLD_OBJECTION, actor=REVIEWER, detail={"finding": "核实停产"})
    for o in [declined, silent, *confirming]:
        transition(uow(), o.id, A.CLOSE_NOTICE, actor=REVIEWER)
    transition(uow(), declined.id, A.DECLINE, actor=firm(declined.uscc))
    transition(uow(), silent.id, A.EXPIRE, actor=REVIEWER, detail={"deadline": "2024-09-30"})
    for o in confirming:
        assert _accept(database, o).state is S.CONFIRMED

    total = sum(o.amount_fen for o in confirming)
    fund_budget(uow(), POLICY, 2024, total, actor=FINANCE)
    scheduled = [schedule_payment(uow(), o.id, actor=FINANCE) for o in confirming]
    failed, *fine = scheduled
    for p in fine:
        settle_payment(uow(), p.idempotency_key, paid=True, actor=FINANCE)
        settle_payment(uow(), p.idempotency_key, paid=True, actor=FINANCE)   # the bank file imported twice
    settle_payment(uow(), failed.idempotency_key, paid=False, reason="账户已销户", actor=FINANCE)
    assert get_offer(uow(), failed.offer_id).state is S.PAYMENT_FAILED
    retried = schedule_payment(uow(), failed.offer_id, actor=FINANCE)
    assert retried.idempotency_key != failed.idempotency_key
    settle_payment(uow(), retried.idempotency_key, paid=True, actor=FINANCE)

    states = {o.id: get_offer(uow(), o.id).state for o in made}
    assert states[excluded.id] is S.EXCLUDED and states[objected.id] is S.EXCLUDED
    assert states[declined.id] is S.DECLINED and states[silent.id] is S.WAIVED
    assert all(states[o.id] is S.PAID and paid_payments(uow(), o.id) == 1 for o in confirming)
    ledger.check_balanced(uow())
    assert ledger.balance(uow(), ledger.paid_account(POLICY, 2024)) == total
    assert ledger.balance(uow(), ledger.payable_account(POLICY, 2024)) == 0
    assert ledger.balance(uow(), ledger.budget_account(POLICY, 2024)) == 0
    history = events_of(uow(), confirming[1].id, actor=SYSTEM)
    assert [e["action"] for e in history] == ["create", "approve", "start_notice", "close_notice", "accept",
                                              "schedule", "settle"]
    assert {e["policy_version"] for e in history} == {dict(published_run.policies)[POLICY]}
    assert history[4]["detail"] == {"account": "****5678", "pledge": True}


def test_who_may_do_what_is_checked_in_the_services(database, published_run, setup):
    first, second, *_ = _offers(database, published_run, setup)
    with pytest.raises(NotAllowed, match="sti"):
        transition(database.uow(), first.id, A.APPROVE, actor=OTHER_REVIEWER)
    with pytest.raises(NotAllowed):
        transition(database.uow(), first.id, A.APPROVE, actor=FINANCE)
    with pytest.raises(NotAllowed, match="查看统计看板"):
        offers_of_clause(database.uow(), CLAUSE, actor=firm(first.uscc))
    assert {o.id for o in offers_of_clause(database.uow(), CLAUSE, actor=OTHER_REVIEWER)} == set()
    for action in (A.APPROVE, A.START_NOTICE, A.CLOSE_NOTICE):
        transition(database.uow(), first.id, action, actor=REVIEWER)
    with pytest.raises(NotAllowed, match=first.uscc):
        accept(database.uow(), first.id, actor=firm(second.uscc), account_name="x", account_bank="y",
               account_no="1234", pledge=True)
    with pytest.raises(OfferError, match="承诺"):
        accept(database.uow(), first.id, actor=firm(first.uscc), account_name="x", account_bank="y",
               account_no="1234", pledge=False)
    assert get_offer(database.uow(), first.id).state is S.AWAITING_CONFIRMATION


def test_an_illegal_move_is_refused_and_nothing_is_written(database, published_run, setup):
    offer = _offers(database, published_run, setup)[0]
    with pytest.raises(TransitionNotAllowed, match="待审核"):
        transition(database.uow(), offer.id, A.CLOSE_NOTICE, actor=REVIEWER)
    with pytest.raises(TransitionNotAllowed):
        schedule_payment(database.uow(), offer.id, actor=FINANCE)
    assert [e["action"] for e in events_of(database.uow(), offer.id, actor=SYSTEM)] == ["create"]
    with database.uow() as uow:
        assert uow.conn.execute(sa.select(sa.func.count()).select_from(t.ledger_entries)).scalar_one() == 0


def test_scheduling_beyond_the_budget_is_refused_and_leaves_the_offer_confirmed(database, published_run, setup):
    offer = _offers(database, published_run, setup)[0]
    for action in (A.APPROVE, A.START_NOTICE, A.CLOSE_NOTICE):
        transition(database.uow(), offer.id, action, actor=REVIEWER)
    _accept(database, offer)
    fund_budget(database.uow(), POLICY, 2024, offer.amount_fen - 1, actor=FINANCE)
    with pytest.raises(BudgetExceeded, match="预算余额不足"):
        schedule_payment(database.uow(), offer.id, actor=FINANCE)
    assert get_offer(database.uow(), offer.id).state is S.CONFIRMED
    assert ledger.balance(database.uow(), ledger.payable_account(POLICY, 2024)) == 0


def test_a_run_of_drafts_makes_no_offers(database, setup, store, policies):
    from zhida.matching.run import run_match

    from ..matching.conftest import AS_OF

    drafts = run_match(database.uow(), setup, store, policies, AS_OF)
    with pytest.raises(OfferError, match="草稿"):
        create_offers(database.uow(), drafts, setup.data_dir, CLAUSE, department="hrss", actor=SYSTEM)
