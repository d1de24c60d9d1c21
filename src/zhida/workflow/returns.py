"""A failed payment returned to the firm with the bank's reason (拨付失败 → 待补正).

When the bank refuses a payment (`payments.settle_payment` with `paid=False`) the money is
already back: payable → budget is reversed and the commitment released in that same
transaction, and the firm is told. Finance then either retries as it was (the next
`prepare_batch`) or — when the fault is the firm's receiving account (销户, 户名不符, …) —
returns the offer to the firm (`return_to_firm`): the offer goes to 待补正 with a new deadline,
and the firm is told the bank's reason and what to do. The firm corrects its account by
confirming again (`offers.accept`), and the offer goes into the next batch like any confirmed
one. The ledger needs no new entry here; `return_to_firm` checks that nothing of the failed
payment is still booked as payable before the offer leaves 拨付失败.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

import sqlalchemy as sa

from zhida.accounts import Permission, User, require
from zhida.db.tables import ledger_entries, offers, payments
from zhida.db.uow import UnitOfWork
from zhida.workflow import ledger
from zhida.workflow.notices import yuan
from zhida.workflow.notifications import notify
from zhida.workflow.offers import Offer, OfferError, get_offer, transition
from zhida.workflow.states import OfferAction, OfferState, TransitionNotAllowed

Clock = Callable[[], datetime]
WHAT_TO_DO = "请核对并更正收款账户（开户名称、开户银行、银行账号须与银行登记一致）"


def _now() -> datetime:
    return datetime.now(UTC)


def return_to_firm(uow: UnitOfWork, offer_id: int, *, actor: User, respond_by: date, note: str | None = None,
                   clock: Clock = _now) -> Offer:
    """Send a failed payment's offer back to the firm (待补正) with the bank's reason, `note`
    (what to do; by default: correct the receiving account) and a new deadline `respond_by`
    (after it the offer is deemed waived like any unconfirmed one)."""
    require(actor, Permission.PREPARE_PAYMENTS)
    with uow:
        offer = get_offer(uow, offer_id)
        if offer.state is not OfferState.PAYMENT_FAILED:
            raise TransitionNotAllowed(f"事项 {offer_id} 当前为“{offer.state.label}”，只有“拨付失败”的事项"
                                       "可以退回企业补正。")
        failed = uow.conn.execute(sa.select(payments.c.idempotency_key, payments.c.failure_reason,
                                            payments.c.amount_fen).where(
            (payments.c.offer_id == offer_id) & (payments.c.state == "failed")).order_by(payments.c.id.desc())
            ).first()
        if failed is None:
            raise OfferError(f"事项 {offer_id} 没有失败的拨付记录，无从退回。")
        already = int(uow.conn.execute(sa.select(sa.func.coalesce(sa.func.sum(payments.c.amount_fen), 0)).where(
            (payments.c.offer_id == offer_id) & (payments.c.state == "paid"))).scalar_one())
        if already:
            raise OfferError(f"事项 {offer_id} 已到账 {yuan(already)} 元（预先拨付），重新确认后会按全额再拨，"
                             "不能退回企业；请与企业核实账户后在下一批次重试（zhida pay batch prepare）。")
        year = int(offer.period[:4])
        payable = int(uow.conn.execute(sa.select(sa.func.coalesce(sa.func.sum(ledger_entries.c.amount_fen), 0))
                                       .where((ledger_entries.c.offer_id == offer_id) & (
                                           ledger_entries.c.account == ledger.payable_account(offer.policy_id, year)))
                                       ).scalar_one())
        if payable:
            raise ledger.LedgerError(f"事项 {offer_id} 仍有 {yuan(payable)} 元记为应付，拨付失败未冲回预算；"
                                     "请先核对账簿（zhida pay ledger），未予退回。")
        reason = str(failed.failure_reason or "（银行未说明）")
        todo = (note or "").strip() or WHAT_TO_DO
        uow.conn.execute(sa.update(offers).where(offers.c.id == offer_id).values(confirm_by=respond_by))
        offer = transition(uow, offer_id, OfferAction.RETURN, actor=actor, clock=clock,
                           detail={"reason": reason, "payment": failed.idempotency_key, "note": todo,
                                   "respond_by": respond_by.isoformat()})
        notify(uow, uscc=offer.uscc, kind="payment_returned", offer_id=offer_id, clock=clock,
               title=f"{offer.clause} 资金拨付失败，请更正收款账户",
               body=f"贵企业 {offer.clause} 资金 {yuan(int(failed.amount_fen))} 元拨付失败，银行返回原因：{reason}。"
                    f"{todo}，并于 {respond_by.isoformat()} 前重新确认收款账户并签署承诺，确认后将重新拨付；"
                    "逾期视为放弃。")
        uow.commit()
    return offer
