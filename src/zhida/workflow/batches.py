"""Batches: a department's review of a clause's whitelist, and finance's payment batches.

* Review: a reviewer approves a clause's pending offers of its department at once, excluding
  named firms, each with a reason — one transaction, one event per offer.
* Payment batch (per clause and year): one finance user prepares it from the confirmed offers
  (`schedule_payment` for each: money committed, idempotency key made), stopping with a clear
  message when the budget runs out; a different finance user approves it before its payment file
  may be exported (separation of duties, checked here and by a CHECK constraint).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import sqlalchemy as sa

from zhida.accounts import NotAllowed, Permission, User, require, require_department
from zhida.audit import log as audit_log
from zhida.db.tables import offers, payment_batch_items, payment_batches, payments
from zhida.db.uow import UnitOfWork
from zhida.workflow.caps import CapReached
from zhida.workflow.offers import OfferError, refuse_own_offers, transition
from zhida.workflow.payments import BudgetExceeded, Payment, get_payment, schedule_payment
from zhida.workflow.states import OfferAction, OfferState

Clock = Callable[[], datetime]
A, S = OfferAction, OfferState


@dataclass(frozen=True)
class Reviewed:
    approved: list[int]
    excluded: dict[int, str]    # offer → reason


@dataclass(frozen=True)
class PaymentBatch:
    id: int
    clause: str
    year: int
    state: str                  # prepared | approved
    prepared_by: str
    approved_by: str | None
    count: int
    total_fen: int
    payments: tuple[Payment, ...]
    refused: dict[int, str] = field(default_factory=dict)   # offer id → why a cap kept it out (this time)


def _now() -> datetime:
    return datetime.now(UTC)


def review(uow: UnitOfWork, clause: str, *, actor: User, department: str | None = None,
           exclude: Mapping[str, str] | None = None, clock: Clock = _now) -> Reviewed:
    """Approve every pending offer of the clause in the department (the reviewer's own), except the named
    firms (USCC → reason), which are excluded. A named firm with no pending offer, or an
    exclusion without a reason, is refused before anything changes."""
    exclude = {u.strip().upper(): r.strip() for u, r in (exclude or {}).items()}
    department = department or actor.department or ""
    require_department(actor, department)
    with uow:
        pending = dict(uow.conn.execute(sa.select(offers.c.uscc, offers.c.id).where(
            (offers.c.clause == clause) & (offers.c.department == department)
            & (offers.c.state == S.PENDING_REVIEW.value)).order_by(offers.c.uscc)).all())
        problems = [f"企业 {u} 在条款 {clause} 中没有待审核的事项" for u in exclude if u not in pending]
        problems += [f"排除企业 {u} 须写明理由（--exclude {u}:理由）" for u, r in exclude.items() if not r]
        if problems:
            raise OfferError("审核未执行，请更正后重试：" + "；".join(problems) + "。")
        if not pending:
            raise OfferError(f"条款 {clause} 在部门 {department} 没有待审核的事项。")
        refuse_own_offers(uow, list(pending.values()), actor)
        approved, excluded = [], {}
        for uscc, offer_id in pending.items():
            if uscc in exclude:
                transition(uow, offer_id, A.EXCLUDE, actor=actor, clock=clock, detail={"reason": exclude[uscc]})
                excluded[offer_id] = exclude[uscc]
            else:
                transition(uow, offer_id, A.APPROVE, actor=actor, clock=clock, detail={"batch": True})
                approved.append(offer_id)
        uow.commit()
    return Reviewed(approved=approved, excluded=excluded)


def prepare_batch(uow: UnitOfWork, clause: str, year: int, *, actor: User, advance_percent: int | None = None,
                  balance: bool = False, clock: Clock = _now) -> PaymentBatch:
    """Every confirmed offer of the clause for the year (and every failed one, retried) goes
    into one batch; all or nothing — if the budget cannot cover them all, nothing is scheduled
    and the message says how much is missing. An offer a cap (总量控制, 就高不重复) refuses stays
    out of this batch with the reason in `refused`, and the rest are paid. `advance_percent`:
    预先拨付, that share of each confirmed award now; `balance`: the balances of the offers
    settled (清算) since their advance."""
    require(actor, Permission.PREPARE_PAYMENTS)
    if balance and advance_percent is not None:
        raise OfferError("预先拨付与清算拨付余款请分两个批次编制。")
    states = ([S.SETTLED.value] if balance else [S.CONFIRMED.value] if advance_percent is not None
              else [S.CONFIRMED.value, S.PAYMENT_FAILED.value])
    at = clock()
    with uow:
        rows = uow.conn.execute(sa.select(offers.c.id, offers.c.amount_fen).where(
            (offers.c.clause == clause) & (offers.c.period == str(year))
            & offers.c.state.in_(states)).order_by(offers.c.id)).all()
        if not rows:
            what = "已清算、待拨付余款" if balance else "已确认、待拨付"
            raise OfferError(f"条款 {clause} {year}年没有{what}的事项；企业确认（或清算）后再编制拨付批次。")
        batch_id = int(uow.conn.execute(sa.insert(payment_batches).values(
            clause=clause, year=year, state="prepared", prepared_by=actor.username, count=0, total_fen=0,
            created_at=at).returning(payment_batches.c.id)).scalar_one())
        scheduled: list[Payment] = []
        refused: dict[int, str] = {}
        for offer_id, amount in rows:
            try:
                with uow.conn.begin_nested():      # a cap's refusal leaves this offer out, not the batch
                    payment = schedule_payment(uow, offer_id, actor=actor, advance_percent=advance_percent,
                                               clock=clock)
            except CapReached as e:
                refused[offer_id] = str(e)
                continue
            except BudgetExceeded:
                need = sum(a for _, a in rows)
                raise BudgetExceeded(
                    f"预算不足：条款 {clause} {year}年待拨付 {len(rows)} 笔共 {need / 100:.2f} 元，已排入 "
                    f"{len(scheduled)} 笔后余额不足以拨付事项 {offer_id}（{amount / 100:.2f} 元）；"
                    f"批次未生成，请用 zhida pay fund 追加预算后重试。") from None
            uow.conn.execute(sa.insert(payment_batch_items).values(batch_id=batch_id, payment_id=payment.id))
            scheduled.append(payment)
        if not scheduled:
            raise OfferError(f"条款 {clause} {year}年的 {len(rows)} 条事项都因资金上限不予拨付，批次未生成："
                             + "；".join(f"事项 {i}：{why}" for i, why in list(refused.items())[:3]))
        uow.conn.execute(sa.update(payment_batches).where(payment_batches.c.id == batch_id).values(
            count=len(scheduled), total_fen=sum(p.amount_fen for p in scheduled)))
        audit_log.record(uow, kind="payment_batch.prepare", actor=actor.username, subject=f"payment_batch:{batch_id}",
                         data={"clause": clause, "year": year, "count": len(scheduled),
                               "total_fen": sum(p.amount_fen for p in scheduled),
                               **({"refused": {str(i): why for i, why in refused.items()}} if refused else {})},
                         clock=lambda: at)
        batch = replace(get_batch(uow, batch_id), refused=refused)
        uow.commit()
    return batch


def approve_batch(uow: UnitOfWork, batch_id: int, *, actor: User, clock: Clock = _now) -> PaymentBatch:
    """A second finance user approves the batch; the one who prepared it cannot."""
    require(actor, Permission.PREPARE_PAYMENTS)
    at = clock()
    with uow:
        batch = get_batch(uow, batch_id)
        if batch.prepared_by == actor.username:
            raise NotAllowed(f"拨付批次 {batch_id} 由 {actor.username} 编制，编制人不能审批自己的批次；"
                             "请由另一位财政经办人员审批（不相容岗位分离）。")
        if batch.state != "prepared":
            raise OfferError(f"拨付批次 {batch_id} 已由 {batch.approved_by} 审批。")
        changed = uow.conn.execute(sa.update(payment_batches).where(
            (payment_batches.c.id == batch_id) & (payment_batches.c.state == "prepared"))
            .values(state="approved", approved_by=actor.username, approved_at=at)).rowcount
        if changed != 1:
            raise OfferError(f"拨付批次 {batch_id} 已被他人同时审批；请刷新后查看。")
        audit_log.record(uow, kind="payment_batch.approve", actor=actor.username, subject=f"payment_batch:{batch_id}",
                         data={"prepared_by": batch.prepared_by, "total_fen": batch.total_fen}, clock=lambda: at)
        batch = get_batch(uow, batch_id)
        uow.commit()
    return batch


def get_batch(uow: UnitOfWork, batch_id: int) -> PaymentBatch:
    with uow:
        row = uow.conn.execute(sa.select(payment_batches).where(payment_batches.c.id == batch_id)).mappings().first()
        if row is None:
            raise OfferError(f"没有编号为 {batch_id} 的拨付批次；用 zhida pay batch list 查看。")
        keys = uow.conn.execute(sa.select(payments.c.idempotency_key).select_from(
            payment_batch_items.join(payments, payments.c.id == payment_batch_items.c.payment_id))
            .where(payment_batch_items.c.batch_id == batch_id).order_by(payments.c.id)).scalars().all()
        members = tuple(get_payment(uow, k) for k in keys)
    return PaymentBatch(id=row["id"], clause=row["clause"], year=row["year"], state=row["state"],
                        prepared_by=row["prepared_by"], approved_by=row["approved_by"], count=row["count"],
                        total_fen=row["total_fen"], payments=members)


def list_batches(uow: UnitOfWork, *, actor: User, clause: str | None = None) -> list[PaymentBatch]:
    require(actor, Permission.PREPARE_PAYMENTS)
    q = sa.select(payment_batches.c.id).order_by(payment_batches.c.id)
    if clause:
        q = q.where(payment_batches.c.clause == clause)
    with uow:
        return [get_batch(uow, int(i)) for i in uow.conn.execute(q).scalars()]


def batch_of_payment(uow: UnitOfWork, payment_id: int) -> int | None:
    with uow:
        found = uow.conn.execute(sa.select(payment_batch_items.c.batch_id)
                                 .where(payment_batch_items.c.payment_id == payment_id)).scalar()
    return None if found is None else int(found)
