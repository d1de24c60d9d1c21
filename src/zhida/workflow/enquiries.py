"""诉求: a firm's request or question, routed to a department, answered within a time limit,
督办 (escalated) when late, closed by the firm with a rating — the 政策问答's hand-off lands here.

    e = submit(uow, actor=firm, text="扩岗补助什么时候到账？", department_hint="人力资源和社会保障局")
    queue(uow, actor=reviewer)              # the department's open 诉求, the earliest time limit first
    reply(uow, e.id, "已于…拨付", actor=reviewer)
    close(uow, e.id, rating=5, actor=firm)  # or reopen(...) when the answer does not settle it
    escalate_overdue(uow, now, actor=SYSTEM)  # a daily job: every open 诉求 past its limit, once per lapse

Routing: the department a hint names (the assistant's suggested department, a policy's
department), else the first topic whose words the text contains (TOPICS, data), else the
general desk (DEFAULT_TOPIC). Each step is an event naming the actor; each escalation also tells
the firm that its 诉求 is being 督办.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from zhida.accounts import Role, User, department_scope, require_department, require_reader
from zhida.accounts.errors import NotAllowed
from zhida.accounts.service import department_named
from zhida.audit import log as audit_log
from zhida.db.scope import Scope, restrict
from zhida.db.tables import departments, enquiries, enquiry_events
from zhida.db.uow import UnitOfWork
from zhida.errors import ZhidaError
from zhida.workflow.notifications import notify

Clock = Callable[[], datetime]
REPLY_DAYS = 5             # the department's time limit for a reply, in calendar days
# topic → (label, department code, words in the text that mean it); the first match wins
TOPICS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "employment": ("就业社保", "hrss", ("社保", "稳岗", "就业", "扩岗", "毕业生", "招用", "培训", "失业保险", "参保")),
    "tax": ("税费", "tax", ("税", "发票", "六税两费", "减免")),
    "technology": ("科技创新", "sti", ("高企", "高新技术", "科技", "研发", "技术先进型")),
    "industry": ("产业发展", "eco", ("专精特新", "小巨人", "隐形冠军", "经信", "工业")),
    "payment": ("资金拨付", "fin", ("到账", "拨付", "收款账户", "预算")),
    "data": ("数据更正", "data", ("数据有误", "信息有误", "更正", "画像", "数据不对")),
}
DEFAULT_TOPIC = "data"     # the platform's own desk (数据局 runs 政策直达) takes what matches no topic
STATES = {"open": "待答复", "answered": "已答复", "closed": "已办结"}


class EnquiryError(ZhidaError):
    """A 诉求 that cannot be made or changed as asked."""


@dataclass(frozen=True)
class Enquiry:
    id: int
    uscc: str
    department: str
    topic: str
    text: str
    source: str
    state: str
    due_by: datetime
    escalations: int
    rating: int | None
    created_at: datetime

    @property
    def state_label(self) -> str:
        return STATES[self.state]

    @property
    def topic_label(self) -> str:
        return TOPICS[self.topic][0] if self.topic in TOPICS else self.topic

    def overdue(self, now: datetime) -> bool:
        return self.state == "open" and now > self.due_by


def _now() -> datetime:
    return datetime.now(UTC)


def route(uow: UnitOfWork, text: str, hint: str = "") -> tuple[str, str]:
    """(topic, department code) for a 诉求's text and an optional department hint."""
    topic = next((t for t, (_, _, words) in TOPICS.items() if any(w in text for w in words)), DEFAULT_TOPIC)
    named = department_named(uow, hint) if hint else None
    return topic, named or TOPICS[topic][1]


def submit(uow: UnitOfWork, *, actor: User, text: str, department_hint: str = "", source: str = "web",
           clock: Clock = _now, reply_days: int = REPLY_DAYS) -> Enquiry:
    """The acting firm's new 诉求, routed and given its time limit."""
    uscc = _own_firm(actor)
    text = text.strip()
    if len(text) < 5:
        raise EnquiryError("请把诉求写清楚（至少 5 个字）：遇到了什么问题、涉及哪项政策或资金。")
    if len(text) > 2000:
        raise EnquiryError(f"诉求内容有 {len(text)} 字，超过 2000 字；请精简，或分成几条提交。")
    at = clock()
    with uow:
        topic, department = route(uow, text, department_hint)
        known = uow.conn.execute(sa.select(departments.c.code).where(departments.c.code == department)).scalar()
        if known is None:
            raise EnquiryError(f"诉求应转给部门 {department}，但部门表中没有它；"
                               "请管理员先用 zhida user dept-add 登记。")
        new_id = int(uow.conn.execute(sa.insert(enquiries).values(
            uscc=uscc, department=department, topic=topic, text=text, source=source, state="open",
            due_by=at + timedelta(days=reply_days), escalations=0, created_at=at, updated_at=at)
            .returning(enquiries.c.id)).scalar_one())
        _event(uow, new_id, actor, "submit", text, {"department": department, "topic": topic}, at)
        e = _load(uow, new_id)
        uow.commit()
    return e


def queue(uow: UnitOfWork, *, actor: User, state: str | None = "open", overdue_at: datetime | None = None
          ) -> list[Enquiry]:
    """The department's 诉求 (every department's for oversight roles), the earliest limit first."""
    department = department_scope(actor)
    q = sa.select(enquiries.c.id).order_by(enquiries.c.due_by, enquiries.c.id)
    if state is not None:
        q = q.where(enquiries.c.state == state)
    if department is not None:
        q = q.where(enquiries.c.department == department)
    if overdue_at is not None:
        q = q.where(enquiries.c.due_by < overdue_at)
    with uow:
        restrict(uow, Scope(department=department) if department else Scope(everything=True))
        return [_load(uow, i) for i in uow.conn.execute(q).scalars()]


def mine(uow: UnitOfWork, *, actor: User) -> list[Enquiry]:
    uscc = _own_firm(actor)
    with uow:
        restrict(uow, Scope(uscc=uscc))
        ids = uow.conn.execute(sa.select(enquiries.c.id).where(enquiries.c.uscc == uscc)
                               .order_by(enquiries.c.id.desc())).scalars().all()
        return [_load(uow, i) for i in ids]


def get_enquiry(uow: UnitOfWork, enquiry_id: int, *, actor: User) -> Enquiry:
    with uow:
        e = _load(uow, enquiry_id)
    require_reader(actor, what=f"诉求 {enquiry_id} ", uscc=e.uscc, department=e.department)
    return e


def events_of(uow: UnitOfWork, enquiry_id: int, *, actor: User) -> list[dict[str, Any]]:
    get_enquiry(uow, enquiry_id, actor=actor)
    with uow:
        return [dict(r) for r in uow.conn.execute(sa.select(enquiry_events).where(
            enquiry_events.c.enquiry_id == enquiry_id).order_by(enquiry_events.c.id)).mappings()]


def reply(uow: UnitOfWork, enquiry_id: int, text: str, *, actor: User, clock: Clock = _now) -> Enquiry:
    """The department answers (the firm is told)."""
    if not text.strip():
        raise EnquiryError("答复不能为空。")
    with uow:
        e = _load(uow, enquiry_id)
        require_department(actor, e.department)
        at = clock()
        _move(uow, e, "open", "answered", at)
        _event(uow, e.id, actor, "reply", text.strip(), None, at)
        notify(uow, uscc=e.uscc, kind="enquiry_reply", title="您的诉求已答复", body=text.strip(), clock=lambda: at)
        e = _load(uow, e.id)
        uow.commit()
    return e


def close(uow: UnitOfWork, enquiry_id: int, *, rating: int, note: str = "", actor: User, clock: Clock = _now
          ) -> Enquiry:
    """The firm closes an answered 诉求 with a satisfaction rating (1–5)."""
    if rating not in range(1, 6):
        raise EnquiryError(f"满意度请打 1 至 5 分，实为 {rating}。")
    with uow:
        e = _load(uow, enquiry_id)
        _firm_of(actor, e)
        at = clock()
        _move(uow, e, "answered", "closed", at, rating=rating)
        _event(uow, e.id, actor, "close", note.strip() or None, {"rating": rating}, at)
        e = _load(uow, e.id)
        uow.commit()
    return e


def reopen(uow: UnitOfWork, enquiry_id: int, note: str, *, actor: User, clock: Clock = _now,
           reply_days: int = REPLY_DAYS) -> Enquiry:
    """The answer did not settle it: back to the department, with a new time limit."""
    if not note.strip():
        raise EnquiryError("请说明还有什么问题没有解决。")
    with uow:
        e = _load(uow, enquiry_id)
        _firm_of(actor, e)
        at = clock()
        _move(uow, e, "answered", "open", at, due_by=at + timedelta(days=reply_days))
        _event(uow, e.id, actor, "reopen", note.strip(), None, at)
        e = _load(uow, e.id)
        uow.commit()
    return e


def escalate_overdue(uow: UnitOfWork, now: datetime, *, actor: User, reply_days: int = REPLY_DAYS) -> list[int]:
    """督办: every open 诉求 past its time limit is escalated once for this lapse — its count goes
    up, a new limit is set, the event names the lapse and the firm is told. Running again at
    the same moment changes nothing."""
    with uow:
        late = uow.conn.execute(sa.select(enquiries.c.id, enquiries.c.due_by, enquiries.c.uscc).where(
            (enquiries.c.state == "open") & (enquiries.c.due_by < now)).order_by(enquiries.c.id)).all()
        done = []
        for enquiry_id, due_by, uscc in late:
            moved = uow.conn.execute(sa.update(enquiries).where(
                (enquiries.c.id == enquiry_id) & (enquiries.c.due_by == due_by) & (enquiries.c.state == "open"))
                .values(escalations=enquiries.c.escalations + 1, due_by=now + timedelta(days=reply_days),
                        updated_at=now)).rowcount
            if moved != 1:
                continue
            _event(uow, enquiry_id, actor, "escalate", None, {"was_due": due_by.isoformat()}, now)
            notify(uow, uscc=uscc, kind="enquiry_escalated", title="您的诉求已督办",
                   body=f"您的诉求（编号 {enquiry_id}）超过答复时限，已转督办，承办部门将尽快答复。", clock=lambda: now)
            done.append(int(enquiry_id))
        uow.commit()
    return done


def _own_firm(actor: User) -> str:
    if Role.ENTERPRISE not in actor.roles or not actor.uscc or not actor.active:
        raise NotAllowed("只有企业账号可以提交诉求，且只能为本企业提交。")
    return actor.uscc


def _firm_of(actor: User, e: Enquiry) -> None:
    if _own_firm(actor) != e.uscc:
        raise NotAllowed(f"诉求 {e.id} 属于企业 {e.uscc}，只有该企业的账号可以办结或重新提出。")


def _move(uow: UnitOfWork, e: Enquiry, source: str, target: str, at: datetime, **values: Any) -> None:
    if e.state != source:
        raise EnquiryError(f"诉求 {e.id} 当前为“{e.state_label}”，不能改为“{STATES[target]}”。")
    moved = uow.conn.execute(sa.update(enquiries).where((enquiries.c.id == e.id) & (enquiries.c.state == source))
                             .values(state=target, updated_at=at, **values)).rowcount
    if moved != 1:
        raise EnquiryError(f"诉求 {e.id} 已被他人同时处理；请刷新后再操作。")


def _event(uow: UnitOfWork, enquiry_id: int, actor: User, action: str, text: str | None,
           detail: dict[str, Any] | None, at: datetime) -> None:
    uow.conn.execute(sa.insert(enquiry_events).values(enquiry_id=enquiry_id, at=at, actor=actor.username,
                                                      action=action, text=text, detail=detail))
    audit_log.record(uow, kind=f"enquiry.{action}", actor=actor.username, subject=f"enquiry:{enquiry_id}",
                     data=detail or {}, clock=lambda: at)


def _load(uow: UnitOfWork, enquiry_id: int) -> Enquiry:
    r = uow.conn.execute(sa.select(enquiries).where(enquiries.c.id == enquiry_id)).mappings().first()
    if r is None:
        raise EnquiryError(f"没有编号为 {enquiry_id} 的诉求。")
    return Enquiry(id=r["id"], uscc=r["uscc"], department=r["department"], topic=r["topic"], text=r["text"],
                   source=r["source"], state=r["state"], due_by=r["due_by"], escalations=r["escalations"],
                   rating=r["rating"], created_at=r["created_at"])
