"""总量控制 and 就高不重复: what one firm receives in a year across several policies, set as data.

A cap names a year, the policies it spans and either a sum in fen (`cap_fen`: 同类奖励合计不超过
X 元), or `exclusive` (就高不重复: of those policies the firm receives only the highest award), or
both. `reserve` is called by `payments.schedule_payment` inside its transaction:

* every cap that covers the offer's policy and year is locked for this firm first (one
  `cap_usage` row per cap and firm, in cap order; a row lock on PostgreSQL, the write lock on
  SQLite), so concurrent schedulers of one firm queue there and each sees what the others took;
* the amount is reduced to what remains under the tightest cap, or refused when nothing remains,
  and the reduction is explained in Chinese (the text goes onto the offer's `schedule` event);
* the usage grows by one conditional update (`used + amount ≤ limit`) with a CHECK behind it.

Exclusivity is decided the same way every time: among the firm's live offers (not excluded,
declined or waived) of the cap's policies for the year, the highest amount wins, then the
smallest policy id, then the smallest clause key; the others are refused with the winner named.
What the firm already received under the cap counts against the winner's amount, so a lower
award paid first is topped up, never paid twice. A failed payment gives its amount back
(`release`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from zhida.accounts import Permission, User, can
from zhida.accounts.errors import NotAllowed
from zhida.audit import log as audit_log
from zhida.db.tables import offers
from zhida.db.tables.jobs import cap_policies, cap_usage, caps
from zhida.db.uow import UnitOfWork
from zhida.errors import ZhidaError
from zhida.workflow.notices import yuan
from zhida.workflow.states import OfferState

Clock = Callable[[], datetime]
NOT_LIVE = (OfferState.EXCLUDED.value, OfferState.DECLINED.value, OfferState.WAIVED.value)


class CapError(ZhidaError):
    """A cap that cannot be defined as asked."""


class CapReached(ZhidaError):
    """Nothing remains under a cap for this firm (or another award wins 就高不重复)."""


@dataclass(frozen=True)
class Cap:
    id: int
    name: str
    year: int
    cap_fen: int | None
    exclusive: bool
    policies: tuple[str, ...]


@dataclass(frozen=True)
class Grant:
    amount_fen: int                  # what may be paid now (≤ the offer's amount)
    explanations: tuple[str, ...]    # why it is less, for the firm (empty: not reduced)

    @property
    def detail(self) -> dict[str, Any]:
        return {"cap": list(self.explanations), "amount_fen": self.amount_fen} if self.explanations else {}


def _now() -> datetime:
    return datetime.now(UTC)


def define_cap(uow: UnitOfWork, name: str, year: int, policies: Sequence[str], *, actor: User,
               cap_fen: int | None = None, exclusive: bool = False, clock: Clock = _now) -> Cap:
    """Define a cap (finance or a policy officer). Once payments counted against it, it is not
    changed here: define the next year's instead."""
    if not (can(actor, Permission.PREPARE_PAYMENTS) or can(actor, Permission.PUBLISH_POLICY)):
        raise NotAllowed(f"用户 {actor.username} 需要“{Permission.PREPARE_PAYMENTS.label}”或"
                         f"“{Permission.PUBLISH_POLICY.label}”权限才能设定总量控制。")
    name = name.strip()
    wanted = sorted({p.strip() for p in policies if p.strip()})
    problems = []
    if not name:
        problems.append("名称不能为空")
    if not wanted:
        problems.append("至少列出一项政策编号")
    if cap_fen is None and not exclusive:
        problems.append("请给出合计上限金额，或设为就高不重复")
    if cap_fen is not None and cap_fen <= 0:
        problems.append(f"合计上限应为正数（分），实为 {cap_fen}")
    if problems:
        raise CapError(f"总量控制“{name}”（{year}年度）无法设定：{'；'.join(problems)}。")
    with uow:
        taken = uow.conn.execute(sa.select(caps.c.id).where((caps.c.name == name) & (caps.c.year == year))).first()
        if taken is not None:
            raise CapError(f"{year}年度已有名为“{name}”的总量控制（编号 {taken.id}）；请换一个名称。")
        cap_id = int(uow.conn.execute(sa.insert(caps).values(
            name=name, year=year, cap_fen=cap_fen, exclusive=exclusive, created_by=actor.username,
            created_at=clock()).returning(caps.c.id)).scalar_one())
        uow.conn.execute(sa.insert(cap_policies), [{"cap_id": cap_id, "policy_id": p} for p in wanted])
        audit_log.record(uow, kind="cap.define", actor=actor.username, subject=f"cap:{cap_id}",
                         data={"name": name, "year": year, "cap_fen": cap_fen, "exclusive": exclusive,
                               "policies": wanted}, clock=clock)
        cap = get_cap(uow, cap_id)
        uow.commit()
    return cap


def get_cap(uow: UnitOfWork, cap_id: int) -> Cap:
    with uow:
        row = uow.conn.execute(sa.select(caps).where(caps.c.id == cap_id)).mappings().first()
        if row is None:
            raise CapError(f"没有编号为 {cap_id} 的总量控制。")
        policies = uow.conn.execute(sa.select(cap_policies.c.policy_id).where(cap_policies.c.cap_id == cap_id)
                                    .order_by(cap_policies.c.policy_id)).scalars().all()
    return Cap(id=row["id"], name=row["name"], year=row["year"], cap_fen=row["cap_fen"],
               exclusive=bool(row["exclusive"]), policies=tuple(policies))


def caps_covering(uow: UnitOfWork, policy_id: str, year: int) -> list[Cap]:
    with uow:
        ids = uow.conn.execute(sa.select(caps.c.id).select_from(caps.join(cap_policies))
                               .where((cap_policies.c.policy_id == policy_id) & (caps.c.year == year))
                               .order_by(caps.c.id)).scalars().all()
        return [get_cap(uow, i) for i in ids]


def used(uow: UnitOfWork, cap_id: int, uscc: str) -> int:
    with uow:
        return int(uow.conn.execute(sa.select(cap_usage.c.used_fen).where(
            (cap_usage.c.cap_id == cap_id) & (cap_usage.c.uscc == uscc))).scalar() or 0)


def reserve(uow: UnitOfWork, offer_id: int, uscc: str, policy_id: str, clause: str, year: int, amount_fen: int
            ) -> Grant:
    """Count a payment of (up to) `amount_fen` to the firm against every cap covering the
    policy and year, in the caller's transaction; the grant says how much may be paid and why."""
    covering = caps_covering(uow, policy_id, year)
    if not covering:
        return Grant(amount_fen=amount_fen, explanations=())
    limits: list[tuple[Cap, int, int]] = []      # cap, limit for this firm, already used
    for cap in covering:
        so_far = _lock(uow, cap.id, uscc)
        limit = cap.cap_fen
        if cap.exclusive:
            winner = _winner(uow, cap, uscc)
            if winner is not None and winner.id != offer_id:
                raise CapReached(f"按就高不重复，{year}年度“{cap.name}”所列政策只享受其中金额最高的一项"
                                 f"（{winner.clause}，{yuan(winner.amount_fen)} 元），本项不予拨付。")
            top = amount_fen if winner is None else winner.amount_fen
            limit = top if limit is None else min(limit, top)
        assert limit is not None
        limits.append((cap, limit, so_far))
    grant = min([amount_fen, *(limit - so_far for _, limit, so_far in limits)])
    binding = [(cap, limit, so_far) for cap, limit, so_far in limits if limit - so_far < amount_fen]
    if grant <= 0:
        cap, limit, so_far = min(binding, key=lambda b: b[1] - b[2])
        raise CapReached(f"按{_rule(cap)}，{year}年度{cap.name}合计不超过 {yuan(limit)} 元，已获 {yuan(so_far)} 元，"
                         "本次不予拨付。")
    for cap, limit, _ in limits:
        grown = uow.conn.execute(sa.update(cap_usage).where(
            (cap_usage.c.cap_id == cap.id) & (cap_usage.c.uscc == uscc) & (cap_usage.c.used_fen + grant <= limit))
            .values(used_fen=cap_usage.c.used_fen + grant)).rowcount
        if grown != 1:     # cannot happen under the row lock; the condition stays as a guard
            raise CapReached(f"{cap.name}额度已被同时占用；请稍后重试。")
    return Grant(amount_fen=grant, explanations=tuple(
        f"按{_rule(cap)}，{year}年度{cap.name}合计不超过 {yuan(limit)} 元，已获 {yuan(so_far)} 元，"
        f"本次拨付 {yuan(grant)} 元" for cap, limit, so_far in binding))


def release(uow: UnitOfWork, uscc: str, policy_id: str, year: int, amount_fen: int) -> None:
    """A payment that failed gives its amount back to every cap it counted against."""
    for cap in caps_covering(uow, policy_id, year):
        uow.conn.execute(sa.update(cap_usage).where((cap_usage.c.cap_id == cap.id) & (cap_usage.c.uscc == uscc))
                         .values(used_fen=cap_usage.c.used_fen - amount_fen))


def _rule(cap: Cap) -> str:
    return "就高不重复" if cap.exclusive and cap.cap_fen is None else "总量控制"


def _lock(uow: UnitOfWork, cap_id: int, uscc: str) -> int:
    """The firm's usage row of a cap, made if missing and locked for this transaction."""
    if uow.conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as upsert
    else:
        from sqlalchemy.dialects.sqlite import insert as upsert  # type: ignore[assignment]
    uow.conn.execute(upsert(cap_usage).values(cap_id=cap_id, uscc=uscc, used_fen=0)
                     .on_conflict_do_nothing(index_elements=["cap_id", "uscc"]))
    where = (cap_usage.c.cap_id == cap_id) & (cap_usage.c.uscc == uscc)
    uow.conn.execute(sa.update(cap_usage).where(where).values(used_fen=cap_usage.c.used_fen))   # takes the lock
    return int(uow.conn.execute(sa.select(cap_usage.c.used_fen).where(where)).scalar_one())


@dataclass(frozen=True)
class _Live:
    id: int
    clause: str
    amount_fen: int


def _winner(uow: UnitOfWork, cap: Cap, uscc: str) -> _Live | None:
    o = offers.c
    row = uow.conn.execute(sa.select(o.id, o.clause, o.amount_fen).where(
        (o.uscc == uscc) & o.policy_id.in_(cap.policies) & (sa.func.substr(o.period, 1, 4) == str(cap.year))
        & o.state.not_in(NOT_LIVE)).order_by(o.amount_fen.desc(), o.policy_id, o.clause, o.id).limit(1)).first()
    return None if row is None else _Live(id=row.id, clause=row.clause, amount_fen=row.amount_fen)
