"""公示: a clause's approved offers shown to the public for an objection window.

    start_notice → (objections raised and resolved) → close_notice after the window

Starting moves every approved offer of the reviewer's department into the notice (公示中);
anyone may object while it is open (who, text, when are kept); the department's reviewer
dismisses or upholds each objection with a reason. Closing — only after the last day of the
window and with no objection open — moves the offers to 待企业确认 and notifies each firm; a firm
without a receiving account on file goes to 待补正 with the reason instead of being dropped.
Every step is the offer's transition (`zhida.workflow.offers.transition`), so each is an event.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from zhida.accounts import User, require_department
from zhida.db.tables import notice_objections, notice_offers, notices, offers
from zhida.db.uow import UnitOfWork
from zhida.workflow.notifications import notify
from zhida.workflow.offers import Offer, OfferError, events_of, get_offer, offers_of_clause, transition
from zhida.workflow.sheets import write_table
from zhida.workflow.states import OfferAction, OfferState

Clock = Callable[[], datetime]
A, S = OfferAction, OfferState


@dataclass(frozen=True)
class Notice:
    id: int
    clause: str
    department: str
    start_date: date
    end_date: date          # the last day objections are taken
    state: str              # open | closed
    offer_ids: tuple[int, ...]

    @property
    def period_text(self) -> str:
        return f"{self.start_date.isoformat()} 至 {self.end_date.isoformat()}"


@dataclass(frozen=True)
class Objection:
    id: int
    notice_id: int
    offer_id: int
    raised_by: str
    text: str
    raised_at: datetime
    outcome: str | None     # None (open) | dismissed | upheld
    reason: str | None


@dataclass(frozen=True)
class Closed:
    notice: Notice
    awaiting: list[int]                 # offers now 待企业确认 (the firm notified)
    needs_correction: dict[int, str]    # offer → why it went to 待补正


@dataclass(frozen=True)
class BankAccount:
    account_name: str
    bank: str
    account_no: str


def _now() -> datetime:
    return datetime.now(UTC)


def start_notice(uow: UnitOfWork, clause: str, *, start: date, days: int, actor: User,
                 department: str | None = None, clock: Clock = _now) -> Notice:
    """Put every approved offer of the clause (the reviewer's department) into a new 公示 of
    `days` calendar days from `start` (both ends included)."""
    if days < 1:
        raise OfferError(f"公示期应至少 1 天，实为 {days} 天；请用 --days 指定天数（通常为 5 至 7 天）。")
    department = department or actor.department or ""
    require_department(actor, department)
    at = clock()
    with uow:
        ids = list(uow.conn.execute(sa.select(offers.c.id).where(
            (offers.c.clause == clause) & (offers.c.department == department)
            & (offers.c.state == S.APPROVED.value)).order_by(offers.c.uscc)).scalars())
        if not ids:
            raise OfferError(f"条款 {clause} 在部门 {department} 没有“审核通过，待公示”的事项；"
                             "请先用 zhida offer review 审核。")
        end = start + timedelta(days=days - 1)
        notice_id = int(uow.conn.execute(sa.insert(notices).values(
            clause=clause, department=department, start_date=start, end_date=end, state="open",
            started_by=actor.username, created_at=at).returning(notices.c.id)).scalar_one())
        uow.conn.execute(sa.insert(notice_offers), [{"notice_id": notice_id, "offer_id": i} for i in ids])
        for offer_id in ids:
            transition(uow, offer_id, A.START_NOTICE, actor=actor, clock=clock,
                       detail={"notice": notice_id, "from": start.isoformat(), "until": end.isoformat()})
        notice = get_notice(uow, notice_id)
        uow.commit()
    return notice


def get_notice(uow: UnitOfWork, notice_id: int) -> Notice:
    with uow:
        row = uow.conn.execute(sa.select(notices).where(notices.c.id == notice_id)).mappings().first()
        if row is None:
            raise OfferError(f"没有编号为 {notice_id} 的公示。")
        ids = tuple(uow.conn.execute(sa.select(notice_offers.c.offer_id).where(notice_offers.c.notice_id == notice_id)
                                     .order_by(notice_offers.c.offer_id)).scalars())
    return Notice(id=row["id"], clause=row["clause"], department=row["department"], start_date=row["start_date"],
                  end_date=row["end_date"], state=row["state"], offer_ids=ids)


def latest_notice(uow: UnitOfWork, clause: str, *, state: str | None = None) -> Notice:
    """The clause's most recent 公示 (optionally only an open or closed one)."""
    q = sa.select(notices.c.id).where(notices.c.clause == clause).order_by(notices.c.id.desc()).limit(1)
    if state is not None:
        q = q.where(notices.c.state == state)
    with uow:
        notice_id = uow.conn.execute(q).scalar()
    if notice_id is None:
        raise OfferError(f"条款 {clause} 还没有{'进行中的' if state == 'open' else ''}公示；"
                         "请先用 zhida offer notice start 开始公示。")
    return get_notice(uow, int(notice_id))


def raise_objection(uow: UnitOfWork, offer_id: int, text: str, *, actor: User, today: date | None = None,
                    clock: Clock = _now) -> Objection:
    """Anyone may object to an offer in an open 公示 (on a day of its window, when `today` is
    given); who, what and when are kept."""
    if not text.strip():
        raise OfferError("异议须写明理由（如“该企业已停产”），请用 --text 填写。")
    at = clock()
    with uow:
        notice_id = _open_notice_of(uow, offer_id)
        notice = get_notice(uow, notice_id)
        if today is not None and not notice.start_date <= today <= notice.end_date:
            raise OfferError(f"公示 {notice_id} 的异议期为 {notice.period_text}，{today.isoformat()} 不在其中；"
                             "异议期外的意见请向主管部门书面反映。")
        transition(uow, offer_id, A.OBJECT, actor=actor, clock=clock,
                   detail={"notice": notice_id, "objection": text.strip()})
        new_id = int(uow.conn.execute(sa.insert(notice_objections).values(
            notice_id=notice_id, offer_id=offer_id, raised_by=actor.username, text=text.strip(), raised_at=at)
            .returning(notice_objections.c.id)).scalar_one())
        objection = _objection(uow, new_id)
        uow.commit()
    return objection


def resolve_objection(uow: UnitOfWork, offer_id: int, *, uphold: bool, reason: str, actor: User,
                      clock: Clock = _now) -> Objection:
    """The department's reviewer dismisses (back to 公示中) or upholds (excluded) the open objection."""
    if not reason.strip():
        raise OfferError("处理异议须写明核查结论，请用 --reason 填写。")
    with uow:
        open_id = uow.conn.execute(sa.select(notice_objections.c.id).where(
            (notice_objections.c.offer_id == offer_id) & notice_objections.c.outcome.is_(None))
            .order_by(notice_objections.c.id.desc()).limit(1)).scalar()
        if open_id is None:
            raise OfferError(f"事项 {offer_id} 没有待处理的异议。")
        action = A.UPHOLD_OBJECTION if uphold else A.DISMISS_OBJECTION
        transition(uow, offer_id, action, actor=actor, clock=clock, detail={"objection": int(open_id),
                                                                             "reason": reason.strip()})
        uow.conn.execute(sa.update(notice_objections).where(notice_objections.c.id == open_id).values(
            outcome="upheld" if uphold else "dismissed", reason=reason.strip(), resolved_by=actor.username,
            resolved_at=clock()))
        objection = _objection(uow, int(open_id))
        uow.commit()
    return objection


def objections_of(uow: UnitOfWork, notice_id: int) -> list[Objection]:
    with uow:
        ids = uow.conn.execute(sa.select(notice_objections.c.id).where(notice_objections.c.notice_id == notice_id)
                               .order_by(notice_objections.c.id)).scalars().all()
        return [_objection(uow, int(i)) for i in ids]


def close_notice(uow: UnitOfWork, notice_id: int, today: date, *, actor: User,
                 accounts: Mapping[str, BankAccount] | None = None, clock: Clock = _now) -> Closed:
    """After the window: offers still 公示中 go to 待企业确认 and each firm is notified. With
    `accounts` (the receiving accounts on file, by USCC), a firm with none goes to 待补正 with
    the reason and is told what to supply. Closing twice is refused."""
    with uow:
        notice = get_notice(uow, notice_id)
        require_department(actor, notice.department)
        if notice.state != "open":
            raise OfferError(f"公示 {notice_id} 已结束。")
        if today <= notice.end_date:
            raise OfferError(f"公示 {notice_id} 的公示期为 {notice.period_text}，"
                             f"须在 {(notice.end_date + timedelta(days=1)).isoformat()} 及以后结束公示。")
        states = {i: get_offer(uow, i) for i in notice.offer_ids}
        pending = sorted(i for i, o in states.items() if o.state is S.OBJECTED)
        if pending:
            raise OfferError(f"公示 {notice_id} 还有未处理的异议（事项 {'、'.join(map(str, pending))}）；"
                             "请先用 zhida offer resolve 处理。")
        awaiting: list[int] = []
        corrections: dict[int, str] = {}
        for offer_id, offer in states.items():
            if offer.state is not S.IN_NOTICE:
                continue
            transition(uow, offer_id, A.CLOSE_NOTICE, actor=actor, clock=clock, detail={"notice": notice_id})
            deadline = f"请于 {offer.confirm_by.isoformat()} 前" if offer.confirm_by else "请尽快"
            amount = yuan(offer.amount_fen)
            on_file = None if accounts is None else accounts.get(offer.uscc)
            if accounts is not None and on_file is None:
                reason = "未登记对公收款账户（财政局企业收款账户库中没有记录）"
                transition(uow, offer_id, A.NEED_CORRECTION, actor=actor, clock=clock, detail={"reason": reason})
                notify(uow, uscc=offer.uscc, kind="offer_correction", offer_id=offer_id, clock=clock,
                       title=f"政策资金待补正：{offer.clause}",
                       body=f"贵企业可享受 {offer.clause} 资金 {amount} 元，公示已结束；但{reason}。"
                            f"{deadline}补充收款账户并确认领取，逾期视为放弃。")
                corrections[offer_id] = reason
                continue
            account = "" if on_file is None else f"（登记账户：{on_file.bank} ****{on_file.account_no[-4:]}）"
            notify(uow, uscc=offer.uscc, kind="offer_confirm", offer_id=offer_id, clock=clock,
                   title=f"政策资金待确认：{offer.clause}",
                   body=f"贵企业可享受 {offer.clause} 资金 {amount} 元，公示已结束。{deadline}确认收款账户{account}"
                        "并签署承诺，逾期视为放弃。")
            awaiting.append(offer_id)
        uow.conn.execute(sa.update(notices).where(notices.c.id == notice_id).values(
            state="closed", closed_by=actor.username, closed_at=clock()))
        closed = Closed(notice=get_notice(uow, notice_id), awaiting=awaiting, needs_correction=corrections)
        uow.commit()
    return closed


def corrections(uow: UnitOfWork, clause: str, *, actor: User) -> list[tuple[Offer, str]]:
    """The 待补正 list: the clause's offers waiting for a firm to supply something, with why."""
    with uow:
        listed = offers_of_clause(uow, clause, actor=actor, state=S.NEEDS_CORRECTION)
        why = [next((str((e["detail"] or {}).get("reason", "")) for e in reversed(events_of(uow, o.id, actor=actor))
                     if e["to_state"] == S.NEEDS_CORRECTION.value), "") for o in listed]
    return list(zip(listed, why, strict=True))


NOTICE_HEADERS = ("序号", "企业名称", "统一社会信用代码", "条款", "金额（元）", "公示期")


def notice_rows(uow: UnitOfWork, notice_id: int, *, names: Mapping[str, str] | None = None) -> list[list[str]]:
    """The public list: every firm of the 公示 not excluded (name when known, else the USCC)."""
    names = names or {}
    with uow:
        notice = get_notice(uow, notice_id)
        listed = [o for o in (get_offer(uow, i) for i in notice.offer_ids) if o.state is not S.EXCLUDED]
    listed.sort(key=lambda o: o.uscc)
    return [[str(n), names.get(o.uscc, o.uscc), o.uscc, o.clause, yuan(o.amount_fen), notice.period_text]
            for n, o in enumerate(listed, start=1)]


def export_notice(uow: UnitOfWork, notice_id: int, out: Path, *, names: Mapping[str, str] | None = None) -> Path:
    """Write the public list as CSV or XLSX (by the file's extension)."""
    return write_table(out, NOTICE_HEADERS, notice_rows(uow, notice_id, names=names), title="公示名单")


def yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"


def _open_notice_of(uow: UnitOfWork, offer_id: int) -> int:
    notice_id = uow.conn.execute(sa.select(notices.c.id).select_from(
        notices.join(notice_offers, notice_offers.c.notice_id == notices.c.id))
        .where((notice_offers.c.offer_id == offer_id) & (notices.c.state == "open"))).scalar()
    if notice_id is None:
        raise OfferError(f"事项 {offer_id} 不在进行中的公示里，不能提出异议。")
    return int(notice_id)


def _objection(uow: UnitOfWork, objection_id: int) -> Objection:
    r = uow.conn.execute(sa.select(notice_objections).where(notice_objections.c.id == objection_id)).mappings().one()
    return Objection(id=r["id"], notice_id=r["notice_id"], offer_id=r["offer_id"], raised_by=r["raised_by"],
                     text=r["text"], raised_at=r["raised_at"], outcome=r["outcome"], reason=r["reason"])
