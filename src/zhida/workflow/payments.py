"""Disbursement: budgets, scheduling a confirmed offer for payment, and the bank's result.

* Funding a budget moves money treasury → budget:<policy>:<year>.
* Scheduling commits money budget → payable in the same transaction as the offer's move to
  拨付中 and a payment row whose idempotency key exists before any attempt at the bank. The
  budget row is decremented by one conditional update, so concurrent schedulers can never
  overspend; the offer's conditional update and the unique live-payment index mean a firm is
  never paid twice for one offer (one clause and period).
* Settling is idempotent by key: a result already recorded is returned as it is. Paid moves
  payable → paid; failed reverses payable → budget and releases the commitment.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from zhida.accounts import Permission, User, require
from zhida.audit import log as audit_log
from zhida.db.tables import budgets, offers, payments
from zhida.db.uow import UnitOfWork
from zhida.errors import ZhidaError
from zhida.workflow import caps, faults, ledger
from zhida.workflow.offers import Offer, get_offer, transition
from zhida.workflow.states import OfferAction, OfferState, TransitionNotAllowed

Clock = Callable[[], datetime]


class BudgetExceeded(ZhidaError):
    """Scheduling this payment would spend more than the budget holds."""


@dataclass(frozen=True)
class Payment:
    id: int
    offer_id: int
    idempotency_key: str
    amount_fen: int
    state: str          # pending | paid | failed
    failure_reason: str | None
    tranche: str = "full"   # full | advance | balance


def _now() -> datetime:
    return datetime.now(UTC)


def fund_budget(uow: UnitOfWork, policy_id: str, year: int, amount_fen: int, *, actor: User,
                clock: Clock = _now) -> int:
    """Add money to a policy's budget for a year; returns the amount funded in all."""
    require(actor, Permission.PREPARE_PAYMENTS)
    if amount_fen <= 0:
        raise BudgetExceeded(f"预算金额应为正数（分），实为 {amount_fen}。")
    with uow:
        grown = uow.conn.execute(sa.update(budgets).where((budgets.c.policy_id == policy_id) & (budgets.c.year == year))
                                 .values(funded_fen=budgets.c.funded_fen + amount_fen)).rowcount
        if not grown:
            uow.conn.execute(sa.insert(budgets).values(policy_id=policy_id, year=year, funded_fen=amount_fen,
                                                       committed_fen=0))
        ledger.post(uow, [(ledger.TREASURY, -amount_fen), (ledger.budget_account(policy_id, year), amount_fen)],
                    at=clock(), memo=f"预算下达 {policy_id} {year}年（{actor.username}）")
        funded = int(uow.conn.execute(sa.select(budgets.c.funded_fen).where(
            (budgets.c.policy_id == policy_id) & (budgets.c.year == year))).scalar_one())
        audit_log.record(uow, kind="budget.fund", actor=actor.username, subject=f"budget:{policy_id}:{year}",
                         data={"amount_fen": amount_fen, "funded_fen": funded}, clock=clock)
        uow.commit()
    return funded


def schedule_payment(uow: UnitOfWork, offer_id: int, *, actor: User, advance_percent: int | None = None,
                     clock: Clock = _now) -> Payment:
    """Put an offer into payment: money committed from the budget, the idempotency key made, the
    offer 拨付中 — together or not at all. What is paid follows the offer's state: a confirmed
    offer its whole award, or `advance_percent` of it (预先拨付, the rest at settlement); a
    settled one its balance; a failed payment is retried as it was."""
    require(actor, Permission.PREPARE_PAYMENTS)
    with uow:
        offer = get_offer(uow, offer_id)
        if offer.state is OfferState.PAYMENT_FAILED:
            action, (tranche, amount) = OfferAction.RETRY, _last_failed(uow, offer_id)
        elif offer.state is OfferState.SETTLED:
            action, tranche = OfferAction.SCHEDULE, "balance"
            amount = offer.amount_fen - paid_fen(uow, offer_id)
        elif advance_percent is not None:
            if not 0 < advance_percent < 100:
                raise ZhidaError(f"预拨比例应在 1 至 99（%）之间，实为 {advance_percent}。")
            action, tranche = OfferAction.SCHEDULE, "advance"
            amount = offer.amount_fen * advance_percent // 100     # whole fen, rounded down: the balance is exact
        else:
            action, tranche, amount = OfferAction.SCHEDULE, "full", offer.amount_fen
        year = int(offer.period[:4])
        grant = caps.reserve(uow, offer_id, offer.uscc, offer.policy_id, offer.clause, year, amount)
        amount = grant.amount_fen   # the amount, or less under a cap (总量控制)
        attempt = 1 + int(uow.conn.execute(sa.select(sa.func.count()).select_from(payments)
                                           .where(payments.c.offer_id == offer_id)).scalar_one())
        key = f"offer-{offer_id}-{attempt}"
        transition(uow, offer_id, action, actor=actor, clock=clock,
                   detail={**grant.detail, **({"tranche": tranche} if tranche != "full" else {})},
                   audit=_logged(key, amount, tranche))
        b = budgets.c
        committed = uow.conn.execute(sa.update(budgets).where(
            (b.policy_id == offer.policy_id) & (b.year == year) & (b.funded_fen - b.committed_fen >= amount))
            .values(committed_fen=b.committed_fen + amount)).rowcount
        if committed != 1:
            raise BudgetExceeded(f"政策 {offer.policy_id} {year}年预算余额不足以拨付事项 {offer_id}"
                                 f"（{amount} 分）；请追加预算或调整批次。")
        what = {"full": "纳入拨付", "advance": "预先拨付", "balance": "清算拨付余款"}[tranche]
        ledger.post(uow, [(ledger.budget_account(offer.policy_id, year), -amount),
                          (ledger.payable_account(offer.policy_id, year), amount)],
                    at=clock(), memo=f"事项 {offer_id} {what}", offer_id=offer_id)
        uow.conn.execute(sa.insert(payments).values(offer_id=offer_id, idempotency_key=key, amount_fen=amount,
                                                    state="pending", tranche=tranche, created_at=clock()))
        payment = get_payment(uow, key)
        faults.checkpoint("schedule.before_commit")
        uow.commit()
    faults.checkpoint("schedule.after_commit")
    return payment


def settle_advance(uow: UnitOfWork, offer_id: int, final_fen: int, *, actor: User, reason: str,
                   clock: Clock = _now) -> Offer:
    """Settlement (清算) of an advanced offer: the final amount is set. More than was advanced:
    the balance goes in the next batch (`prepare_batch`); exactly that: the offer is closed;
    less: the overpaid part is booked as owed back (recover:<policy>:<year>) and it is closed."""
    require(actor, Permission.PREPARE_PAYMENTS)
    if final_fen < 0:
        raise ZhidaError(f"清算金额不能为负数（分），实为 {final_fen}。")
    if not reason.strip():
        raise ZhidaError("清算须写明依据（如“2024年度审计报告核定”）。")
    with uow:
        offer = get_offer(uow, offer_id)
        if offer.state is not OfferState.ADVANCED:
            raise TransitionNotAllowed(f"事项 {offer_id} 当前为“{offer.state.label}”，"
                                       "只有“预拨已到账，待清算”的事项可以清算。")
        advanced = paid_fen(uow, offer_id)
        at = clock()
        uow.conn.execute(sa.update(offers).where(offers.c.id == offer_id).values(amount_fen=final_fen))
        detail = {"final_fen": final_fen, "advanced_fen": advanced, "was_fen": offer.amount_fen,
                  "reason": reason.strip()}
        if final_fen > advanced:
            transition(uow, offer_id, OfferAction.ADJUST, actor=actor, clock=lambda: at, detail=detail)
        else:
            over, year = advanced - final_fen, int(offer.period[:4])
            if over:
                ledger.post(uow, [(ledger.paid_account(offer.policy_id, year), -over),
                                  (ledger.recover_account(offer.policy_id, year), over)],
                            at=at, memo=f"事项 {offer_id} 清算：预拨多付 {over} 分，应予追回", offer_id=offer_id)
            transition(uow, offer_id, OfferAction.CLOSE, actor=actor, clock=lambda: at,
                       detail={**detail, "recover_fen": over})
        offer = get_offer(uow, offer_id)
        uow.commit()
    return offer


def _logged(key: str, amount_fen: int, tranche: str, state: str = "pending") -> dict[str, Any]:
    """A payment as its offer's audit entry carries it (zhida.workflow.reconcile compares it)."""
    return {"payment": {"key": key, "amount_fen": amount_fen, "tranche": tranche, "state": state}}


def _last_failed(uow: UnitOfWork, offer_id: int) -> tuple[str, int]:
    row = uow.conn.execute(sa.select(payments.c.tranche, payments.c.amount_fen).where(
        (payments.c.offer_id == offer_id) & (payments.c.state == "failed")).order_by(payments.c.id.desc())).first()
    if row is None:
        raise ZhidaError(f"事项 {offer_id} 没有失败的拨付记录可重试。")
    return str(row.tranche), int(row.amount_fen)


def settle_payment(uow: UnitOfWork, idempotency_key: str, *, paid: bool, actor: User, reason: str | None = None,
                   clock: Clock = _now) -> Payment:
    """Record the bank's result for one payment (again: no change)."""
    require(actor, Permission.PREPARE_PAYMENTS)
    with uow:
        payment = get_payment(uow, idempotency_key)
        if payment.state != "pending":
            return payment
        if not paid and not (reason and reason.strip()):
            raise ZhidaError("拨付失败须注明银行返回的原因（如“账户已销户”）。")
        offer = get_offer(uow, payment.offer_id)
        year = int(offer.period[:4])
        uow.conn.execute(sa.update(payments).where((payments.c.id == payment.id) & (payments.c.state == "pending"))
                         .values(state="paid" if paid else "failed", settled_at=clock(), failure_reason=reason))
        if paid:
            ledger.post(uow, [(ledger.payable_account(offer.policy_id, year), -payment.amount_fen),
                              (ledger.paid_account(offer.policy_id, year), payment.amount_fen)],
                        at=clock(), memo=f"事项 {offer.id} 已到账", offer_id=offer.id)
            action = OfferAction.SETTLE_ADVANCE if payment.tranche == "advance" else OfferAction.SETTLE
            transition(uow, offer.id, action, actor=actor, clock=clock,
                       audit=_logged(payment.idempotency_key, payment.amount_fen, payment.tranche, "paid"))
        else:
            ledger.post(uow, [(ledger.payable_account(offer.policy_id, year), -payment.amount_fen),
                              (ledger.budget_account(offer.policy_id, year), payment.amount_fen)],
                        at=clock(), memo=f"事项 {offer.id} 拨付失败退回预算：{reason}", offer_id=offer.id)
            caps.release(uow, offer.uscc, offer.policy_id, year, payment.amount_fen)
            b = budgets.c
            uow.conn.execute(sa.update(budgets).where((b.policy_id == offer.policy_id) & (b.year == year))
                             .values(committed_fen=b.committed_fen - payment.amount_fen))
            transition(uow, offer.id, OfferAction.FAIL, actor=actor, detail={"reason": reason}, clock=clock,
                       audit=_logged(payment.idempotency_key, payment.amount_fen, payment.tranche, "failed"))
            _tell_failed(uow, offer, payment.amount_fen, str(reason), clock)
        payment = get_payment(uow, idempotency_key)
        faults.checkpoint("settle.before_commit")
        uow.commit()
    faults.checkpoint("settle.after_commit")
    return payment


def get_payment(uow: UnitOfWork, idempotency_key: str) -> Payment:
    with uow:
        row = uow.conn.execute(sa.select(payments).where(payments.c.idempotency_key == idempotency_key)
                               ).mappings().first()
    if row is None:
        raise ZhidaError(f"没有幂等键为 {idempotency_key} 的拨付记录；请核对银行回单。")
    return Payment(id=row["id"], offer_id=row["offer_id"], idempotency_key=row["idempotency_key"],
                   amount_fen=row["amount_fen"], state=row["state"], failure_reason=row["failure_reason"],
                   tranche=row["tranche"])


def paid_fen(uow: UnitOfWork, offer_id: int) -> int:
    """What the offer's paid payments came to."""
    with uow:
        return int(uow.conn.execute(sa.select(sa.func.coalesce(sa.func.sum(payments.c.amount_fen), 0)).where(
            (payments.c.offer_id == offer_id) & (payments.c.state == "paid"))).scalar_one())


def paid_payments(uow: UnitOfWork, offer_id: int) -> int:
    with uow:
        return int(uow.conn.execute(sa.select(sa.func.count()).select_from(payments).where(
            (payments.c.offer_id == offer_id) & (payments.c.state == "paid"))).scalar_one())


def _tell_failed(uow: UnitOfWork, offer: Offer, amount_fen: int, reason: str, clock: Clock) -> None:
    """The firm hears of a failed payment, with the bank's reason, in the recording transaction."""
    from zhida.workflow.notices import yuan
    from zhida.workflow.notifications import notify

    notify(uow, uscc=offer.uscc, kind="payment_failed", offer_id=offer.id, clock=clock,
           title=f"{offer.clause} 资金拨付失败",
           body=f"贵企业 {offer.clause} 资金 {yuan(amount_fen)} 元拨付失败，银行返回原因：{reason}。"
                "财政部门将核实后重新拨付，或退回贵企业更正收款账户，届时另行通知。")
