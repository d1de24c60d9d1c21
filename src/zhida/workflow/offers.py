"""免申即享 offers: from a clause's whitelist to a confirmed, payable award (DESIGN.md §6).

Every change of state is one conditional update (`WHERE state = <expected>`), so two clicks at
once cannot both move an offer, plus one appended event naming the actor, the action and the
policy version that justified the offer. Who may take which action is checked here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import polars as pl
import sqlalchemy as sa

from zhida.accounts import (
    Permission,
    Role,
    User,
    department_scope,
    reader_scope,
    require,
    require_department,
    require_reader,
)
from zhida.accounts.errors import NotAllowed
from zhida.audit import log as audit_log
from zhida.db.scope import Scope, restrict
from zhida.db.tables import match_run_versions, offer_events, offers, policy_versions
from zhida.db.uow import UnitOfWork
from zhida.errors import ZhidaError
from zhida.matching.incremental import current_results
from zhida.matching.run import MatchRun
from zhida.workflow.states import OfferAction, OfferState, TransitionNotAllowed, next_state

Clock = Callable[[], datetime]
A = OfferAction
REVIEW_ACTIONS = {A.APPROVE, A.EXCLUDE, A.START_NOTICE, A.DISMISS_OBJECTION, A.UPHOLD_OBJECTION, A.CLOSE_NOTICE,
                  A.NEED_CORRECTION, A.EXPIRE}
FIRM_ACTIONS = {A.ACCEPT, A.DECLINE, A.CORRECT}
FINANCE_ACTIONS = {A.SCHEDULE, A.SETTLE, A.SETTLE_ADVANCE, A.ADJUST, A.CLOSE, A.FAIL, A.RETRY, A.RETURN}


class OfferError(ZhidaError):
    """An offer that cannot be made or changed as asked."""


class DutiesNotSeparated(NotAllowed):
    """One person on both sides of a decision: reviewing offers they made, ruling on their own
    objection (不相容岗位分离)."""


@dataclass(frozen=True)
class Offer:
    id: int
    clause: str
    policy_id: str
    version_id: int
    uscc: str
    period: str
    amount_fen: int
    department: str
    state: OfferState
    confirm_by: date | None
    account_no: str | None          # masked (****1234): the number itself only through account_of


def _now() -> datetime:
    return datetime.now(UTC)


def create_offers(uow: UnitOfWork, run: MatchRun, data_dir: Path, clause: str, *, department: str,
                  actor: User, confirm_by: date | None = None, period: str | None = None,
                  clock: Clock = _now) -> list[Offer]:
    """One offer per eligible firm of a 免申即享 clause in a run over published versions
    (the run's results with every committed update). Idempotent: a firm that already has an
    offer for the clause and period keeps it. Returns the offers made now."""
    require(actor, Permission.RUN_MATCHING)
    if run.drafts:
        raise OfferError(f"匹配批次 {run.id} 是政策草稿试算，不能据此兑现；请先发布政策并重新匹配。")
    policy_id = clause.split("/")[0]
    period = period or str(run.as_of.year)
    at = clock()
    with uow:
        version = uow.conn.execute(
            sa.select(policy_versions.c.id, policy_versions.c.document).select_from(
                policy_versions.join(match_run_versions, match_run_versions.c.version_id == policy_versions.c.id))
            .where((match_run_versions.c.run_id == run.id) & (policy_versions.c.policy_id == policy_id))).first()
        if version is None:
            raise OfferError(f"匹配批次 {run.id} 没有使用政策 {policy_id} 的已发布版本；请核对条款 {clause}。")
        spec = _clause_spec(version.document, clause)
        if spec.get("mode") != "exempt":
            raise OfferError(f"条款 {clause} 的兑现方式不是“免申即享”，不能直接生成兑现事项。")
        eligible = (current_results(uow, run, data_dir, policies=[policy_id])
                    .filter((pl.col("clause") == clause) & (pl.col("status") == "eligible")
                            & pl.col("amount_fen").is_not_null() & (pl.col("amount_fen") > 0)))
        existing = set(uow.conn.execute(sa.select(offers.c.uscc).where(
            (offers.c.clause == clause) & (offers.c.period == period))).scalars())
        rows = [{"clause": clause, "policy_id": policy_id, "version_id": version.id, "run_id": run.id, "uscc": uscc,
                 "period": period, "amount_fen": int(fen), "department": department,
                 "state": OfferState.PENDING_REVIEW.value, "confirm_by": confirm_by, "created_at": at, "updated_at": at}
                for uscc, fen in eligible.select("uscc", "amount_fen").iter_rows() if uscc not in existing]
        made: list[Offer] = []
        for row in rows:
            offer_id = int(uow.conn.execute(sa.insert(offers).values(**row).returning(offers.c.id)).scalar_one())
            _event(uow, offer_id, actor, "create", None, OfferState.PENDING_REVIEW, at, {"run": run.id})
            made.append(get_offer(uow, offer_id))
        uow.commit()
    return made


def transition(uow: UnitOfWork, offer_id: int, action: OfferAction, *, actor: User,
               detail: Mapping[str, Any] | None = None, audit: Mapping[str, Any] | None = None,
               clock: Clock = _now) -> Offer:
    """Take one action on an offer, if the actor may and the state allows. `detail` goes into the
    offer's history and its audit entry; `audit` into the audit entry only (a payment's key)."""
    with uow:
        offer = get_offer(uow, offer_id)
        _authorize(actor, offer, action)
        if action in (A.APPROVE, A.EXCLUDE):
            refuse_own_offers(uow, [offer_id], actor)
        elif action in (A.DISMISS_OBJECTION, A.UPHOLD_OBJECTION):
            _refuse_own_objection(uow, offer_id, actor)
        target = next_state(offer.state, action)
        changed = uow.conn.execute(sa.update(offers).where((offers.c.id == offer_id)
                                                           & (offers.c.state == offer.state.value))
                                   .values(state=target.value, updated_at=clock())).rowcount
        if changed != 1:   # someone else moved it first: decide against the state now
            now = get_offer(uow, offer_id).state
            raise TransitionNotAllowed(f"事项 {offer_id} 已被他人同时处理（现为“{now.label}”）；请刷新后再操作。")
        _event(uow, offer_id, actor, action.value, offer.state, target, clock(), dict(detail or {}), audit)
        offer = get_offer(uow, offer_id)
        uow.commit()
    return offer


def accept(uow: UnitOfWork, offer_id: int, *, actor: User, account_name: str, account_bank: str,
           account_no: str, pledge: bool, clock: Clock = _now) -> Offer:
    """The firm accepts: confirms (or corrects) its receiving account and signs the 承诺. An offer
    waiting for a correction (待补正, e.g. no account on file) is corrected and accepted at once."""
    problems = [label for label, value in (("开户名称", account_name), ("开户银行", account_bank),
                                           ("银行账号", account_no)) if not value.strip()]
    if problems:
        raise OfferError(f"请填写收款账户的{'、'.join(problems)}后再确认。")
    if not account_no.replace(" ", "").isdigit():
        raise OfferError(f"银行账号“{account_no}”应只含数字；请核对后重填。")
    if not pledge:
        raise OfferError("确认领取前须签署承诺（所报信息真实、不重复享受同类资金）。")
    masked = "****" + account_no.replace(" ", "")[-4:]
    with uow:
        offer = get_offer(uow, offer_id)
        _authorize(actor, offer, A.ACCEPT)
        if offer.state is OfferState.NEEDS_CORRECTION:   # supplying the account is the correction
            transition(uow, offer_id, A.CORRECT, actor=actor, clock=clock, detail={"account": masked})
        uow.conn.execute(sa.update(offers).where(offers.c.id == offer_id).values(
            account_name=account_name.strip(), account_bank=account_bank.strip(),
            account_no=seal_account(uow, account_no.replace(" ", ""))))
        offer = transition(uow, offer_id, A.ACCEPT, actor=actor, clock=clock,
                           detail={"account": masked, "pledge": True})
        uow.commit()
    return offer


ACCOUNT_CONTEXT = "offers.account_no"


def seal_account(uow: UnitOfWork, number: str) -> str:
    """The receiving account as stored: sealed when the store has a key (docs/security.md)."""
    return number if uow.sealer is None else uow.sealer.seal(number, context=ACCOUNT_CONTEXT)


def account_of(uow: UnitOfWork, stored: str) -> str:
    """The receiving account number in clear — for the bank (its file, its adapter) only."""
    if not stored.startswith("zs1:"):
        return stored
    if uow.sealer is None:
        raise OfferError("收款账号已加密保存，但未配置数据加密密钥，无法解开；请设置 ZHIDA_DATA_KEY。")
    return uow.sealer.open(stored, context=ACCOUNT_CONTEXT)


def get_offer(uow: UnitOfWork, offer_id: int) -> Offer:
    with uow:
        row = uow.conn.execute(sa.select(offers).where(offers.c.id == offer_id)).mappings().first()
    if row is None:
        raise OfferError(f"没有编号为 {offer_id} 的兑现事项。")
    return Offer(id=row["id"], clause=row["clause"], policy_id=row["policy_id"], version_id=row["version_id"],
                 uscc=row["uscc"], period=row["period"], amount_fen=row["amount_fen"], department=row["department"],
                 state=OfferState(row["state"]), confirm_by=row["confirm_by"],
                 account_no=None if row["account_no"] is None else "****" + account_of(uow, row["account_no"])[-4:])


def offers_of_clause(uow: UnitOfWork, clause: str, *, actor: User, state: OfferState | None = None) -> list[Offer]:
    """A clause's offers (a reviewer sees only its own department's; on PostgreSQL the
    transaction is narrowed to them too, by row-level security)."""
    department = department_scope(actor)
    q = sa.select(offers.c.id).where(offers.c.clause == clause).order_by(offers.c.uscc)
    if state is not None:
        q = q.where(offers.c.state == state.value)
    if department is not None:
        q = q.where(offers.c.department == department)
    with uow:
        restrict(uow, Scope(department=department) if department else Scope(everything=True))
        return [get_offer(uow, i) for i in uow.conn.execute(q).scalars()]


def view_offer(uow: UnitOfWork, offer_id: int, *, actor: User) -> Offer:
    """One offer as a person may see it: the firm's own, its department's (a reviewer), or any
    (oversight roles: leader, finance, policy officer, administrator)."""
    offer = get_offer(uow, offer_id)
    may_read(actor, offer)
    return offer


def may_read(actor: User, offer: Offer) -> None:
    require_reader(actor, what=f"兑现事项 {offer.id} ", uscc=offer.uscc, department=offer.department)


def events_of(uow: UnitOfWork, offer_id: int, *, actor: User) -> list[dict[str, Any]]:
    """An offer's history, for whoever may see the offer."""
    view_offer(uow, offer_id, actor=actor)
    with uow:
        restrict(uow, reader_scope(actor))          # PostgreSQL: the history is read in the reader's scope
        return [dict(r) for r in uow.conn.execute(sa.select(offer_events).where(offer_events.c.offer_id == offer_id)
                                                  .order_by(offer_events.c.id)).mappings()]


def creators(uow: UnitOfWork, offer_ids: list[int]) -> dict[int, str]:
    """Who made each offer (its `create` event: the one who ran the whitelist)."""
    if not offer_ids:
        return {}
    rows = uow.conn.execute(sa.select(offer_events.c.offer_id, offer_events.c.actor).where(
        offer_events.c.offer_id.in_(offer_ids) & (offer_events.c.action == "create")))
    return {int(r.offer_id): str(r.actor) for r in rows}


def refuse_own_offers(uow: UnitOfWork, offer_ids: list[int], actor: User) -> None:
    """Nobody reviews offers they made themselves (不相容岗位分离)."""
    own = sorted(i for i, who in creators(uow, offer_ids).items() if who == actor.username)
    if own:
        shown = "、".join(map(str, own[:10])) + (f" 等 {len(own)} 项" if len(own) > 10 else "")
        raise DutiesNotSeparated(f"事项 {shown} 由 {actor.username} 生成，生成人不能审核自己生成的事项；"
                                 "请由部门的另一位审核人员审核（不相容岗位分离）。")


def _refuse_own_objection(uow: UnitOfWork, offer_id: int, actor: User) -> None:
    """Nobody rules on an objection they raised themselves."""
    raised_by = uow.conn.execute(sa.select(offer_events.c.actor).where(
        (offer_events.c.offer_id == offer_id) & (offer_events.c.action == A.OBJECT.value))
        .order_by(offer_events.c.id.desc()).limit(1)).scalar()
    if raised_by == actor.username:
        raise DutiesNotSeparated(f"事项 {offer_id} 的异议由 {actor.username} 提出，提出人不能处理自己的异议；"
                                 "请由部门的另一位审核人员核查处理（不相容岗位分离）。")


def _authorize(actor: User, offer: Offer, action: OfferAction) -> None:
    if action in REVIEW_ACTIONS:
        require_department(actor, offer.department)
    elif action in FIRM_ACTIONS:
        if Role.ENTERPRISE not in actor.roles or actor.uscc != offer.uscc or not actor.active:
            raise NotAllowed(f"只有企业 {offer.uscc} 本身的账号才能确认、放弃或补正该事项。")
    elif action in FINANCE_ACTIONS:
        require(actor, Permission.PREPARE_PAYMENTS)
    elif action is not A.OBJECT:   # anyone may object during 公示 (recorded with who)
        raise NotAllowed(f"未登记操作 {action.value} 的权限规则。")


def _event(uow: UnitOfWork, offer_id: int, actor: User, action: str, source: OfferState | None,
           target: OfferState, at: datetime, detail: dict[str, Any], audit: Mapping[str, Any] | None = None) -> None:
    row = uow.conn.execute(sa.select(policy_versions.c.content_hash, offers.c.uscc, offers.c.amount_fen).select_from(
        offers.join(policy_versions, offers.c.version_id == policy_versions.c.id))
        .where(offers.c.id == offer_id)).one()
    uow.conn.execute(sa.insert(offer_events).values(
        offer_id=offer_id, at=at, actor=actor.username, action=action,
        from_state=None if source is None else source.value, to_state=target.value, policy_version=row.content_hash,
        detail=detail or None))
    # the firm and the award as they stand after the change, so that an amount edited in the
    # table afterwards no longer matches its log (zhida.workflow.reconcile); a cap's reduced
    # amount in `detail` is the payment's, which `audit` carries
    audit_log.record(uow, kind=f"offer.{action}", actor=actor.username, subject=f"offer:{offer_id}",
                     data={"from": None if source is None else source.value, "to": target.value,
                           "policy_version": row.content_hash, **detail, "uscc": row.uscc,
                           "amount_fen": int(row.amount_fen), **(audit or {})}, clock=lambda: at)


def _clause_spec(document: Mapping[str, Any], clause: str) -> Mapping[str, Any]:
    clause_id = clause.split("/", 1)[1] if "/" in clause else clause
    for spec in document.get("clauses", []):
        if spec.get("id") == clause_id:
            return dict(spec)
    raise OfferError(f"政策中没有条款 {clause}；请核对条款键（政策编号/条款编号）。")
