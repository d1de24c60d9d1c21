"""The job kinds of this application, wired onto the runner (`zhida.workflow.jobs`).

* `offers.remind` — `deadlines.send_reminders` for one department and day;
* `offers.expire` — `deadlines.expire_overdue` for one department and day;
* `audit.checkpoint` — a signed checkpoint of the audit log (the signing key comes from the
  entrypoint that runs the worker: `checkpointing(signer, origin)`).

Each runs as the account that scheduled it (resolved when the job runs, so a deactivated
account's jobs fail with the reason). `schedule_day` enqueues a department's jobs of one day
under dedupe keys: scheduling the same day twice adds nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from zhida.accounts import SYSTEM, User, require_department
from zhida.accounts.errors import NotAllowed
from zhida.audit.note import Signer
from zhida.db.uow import UnitOfWork
from zhida.workflow.jobs import Enqueued, Handler, Registry, Worker, enqueue

Clock = Callable[[], datetime]
REMIND, EXPIRE, CHECKPOINT = "offers.remind", "offers.expire", "audit.checkpoint"
ESCALATE = "enquiries.escalate"


def _now() -> datetime:
    return datetime.now(UTC)


def remind(uow: UnitOfWork, payload: Mapping[str, Any], actor: User) -> dict[str, Any]:
    from zhida.workflow.deadlines import send_reminders

    done = send_reminders(uow, date.fromisoformat(payload["today"]), actor=actor,
                          days_before=int(payload.get("days_before", 3)))
    return {"sent": done.sent, "already": done.already}


def expire(uow: UnitOfWork, payload: Mapping[str, Any], actor: User) -> dict[str, Any]:
    from zhida.workflow.deadlines import expire_overdue

    return {"waived": expire_overdue(uow, date.fromisoformat(payload["today"]), actor=actor)}


def escalate(uow: UnitOfWork, payload: Mapping[str, Any], actor: User) -> dict[str, Any]:
    from zhida.workflow.enquiries import escalate_overdue

    return {"escalated": escalate_overdue(uow, datetime.fromisoformat(payload["now"]), actor=actor)}


def checkpointing(signer: Signer, origin: str) -> Handler:
    """The `audit.checkpoint` handler, with the log's signing key."""
    def checkpoint(uow: UnitOfWork, payload: Mapping[str, Any], actor: User) -> dict[str, Any]:
        from zhida.audit import log as audit_log

        cp = audit_log.checkpoint(uow, signer, origin=origin, actor=actor)
        return {"checkpoint": cp.id, "size": cp.size}
    return checkpoint


def registry(extra: Mapping[str, Handler] | None = None) -> Registry:
    r = Registry()
    r.register(REMIND, remind)
    r.register(EXPIRE, expire)
    r.register(ESCALATE, escalate)
    for kind, handler in (extra or {}).items():
        r.register(kind, handler)
    return r


def actor_of(uow: UnitOfWork, username: str) -> User:
    """The account a job runs as: the local operator, or a user as the store has it now."""
    from zhida.accounts.service import get_user

    if username == SYSTEM.username:
        return SYSTEM
    user = get_user(uow, username)
    if not user.active:
        raise NotAllowed(f"任务所属账号 {username} 已停用；请由启用中的账号重新安排。")
    return user


def worker(uow_factory: Callable[[], UnitOfWork], *, name: str | None = None, lease: timedelta = timedelta(minutes=10),
           extra: Mapping[str, Handler] | None = None, clock: Clock = _now) -> Worker:
    return Worker(uow_factory, registry(extra), actor_of=actor_of, name=name, lease=lease, clock=clock)


def schedule_checkpoint(uow: UnitOfWork, today: date, *, actor: User, clock: Clock = _now) -> Enqueued:
    """Enqueue the day's audit checkpoint (again the same day: nothing new)."""
    with uow:
        made = enqueue(uow, CHECKPOINT, {"today": today.isoformat()}, actor=actor,
                       dedupe_key=f"{CHECKPOINT}:{today.isoformat()}", clock=clock)
        uow.commit()
    return made


def schedule_day(uow: UnitOfWork, today: date, *, actor: User, days_before: int = 3,
                 clock: Clock = _now) -> list[Enqueued]:
    """Enqueue the day's reminders and deadline expiry of the actor's department (a reviewer's
    own; the jobs run as the actor). Again on the same day: nothing new."""
    department = actor.department or ""
    if not department:
        raise NotAllowed(f"用户 {actor.username} 不属于任何部门；提醒与逾期处理按部门安排，"
                         "请用 --as 指定该部门的审核人员账号。")
    require_department(actor, department)
    day = today.isoformat()
    with uow:
        made = [enqueue(uow, REMIND, {"today": day, "department": department, "days_before": days_before},
                        actor=actor, dedupe_key=f"{REMIND}:{department}:{day}", clock=clock),
                enqueue(uow, EXPIRE, {"today": day, "department": department},
                        actor=actor, dedupe_key=f"{EXPIRE}:{department}:{day}", clock=clock)]
        uow.commit()
    return made


def schedule_escalation(uow: UnitOfWork, now: datetime, *, actor: User, clock: Clock = _now) -> Enqueued:
    """Enqueue the 督办 of late 诉求 as of `now` (again the same day: nothing new)."""
    with uow:
        made = enqueue(uow, ESCALATE, {"now": now.isoformat()}, actor=actor,
                       dedupe_key=f"{ESCALATE}:{now.date().isoformat()}", clock=clock)
        uow.commit()
    return made
