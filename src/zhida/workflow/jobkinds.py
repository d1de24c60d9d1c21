"""The job kinds of this application, wired onto the runner (`zhida.workflow.jobs`).

* `offers.remind` — `deadlines.send_reminders` for one department and day;
* `offers.expire` — `deadlines.expire_overdue` for one department and day;
* `enquiries.escalate` — `enquiries.escalate_overdue`: late 诉求 escalated (督办);
* `offers.create` — `offers.create_offers`: a clause's offers from a match run's whitelist (the
  worker needs the data directory the run's results are in: `worker(…, data_dir=…)`);
* `payments.send` — `disburse.pay_pending` for one approved payment batch: its pending payments
  through the bank adapter, each result recorded (the worker needs the adapter:
  `worker(…, bank=…)`; without one the job fails saying to use the 代发 file instead);
* `audit.checkpoint` — a signed checkpoint of the audit log (the signing key comes from the
  entrypoint that runs the worker: `checkpointing(signer, origin)`).

Each runs as the account that scheduled it (resolved when the job runs, so a deactivated
account's jobs fail with the reason). `schedule_day` enqueues a department's jobs of one day
under dedupe keys: scheduling the same day twice adds nothing; `schedule_offers` and
`schedule_send` enqueue one run's offers and one batch's sending the same way (again: nothing
new). Every `schedule_*` joins the caller's transaction when called inside one.

A job's effects commit with its completion (the runner's design): `payments.send` records every
result in the job's transaction, so a worker that dies after the bank paid leaves the payments
pending and the next attempt sends the same keys again — the bank answers with the first result
and moves no money (decision 0013).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from zhida.accounts import SYSTEM, Permission, User, require, require_department
from zhida.accounts.errors import NotAllowed
from zhida.audit.note import Signer
from zhida.db.uow import UnitOfWork
from zhida.errors import ZhidaError
from zhida.workflow.bank import PaymentAdapter
from zhida.workflow.jobs import Enqueued, Handler, Registry, Worker, enqueue

Clock = Callable[[], datetime]
REMIND, EXPIRE, CHECKPOINT = "offers.remind", "offers.expire", "audit.checkpoint"
ESCALATE = "enquiries.escalate"
CREATE_OFFERS, SEND = "offers.create", "payments.send"


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


def creating(data_dir: Path | None) -> Handler:
    """The `offers.create` handler, reading the run's results under `data_dir`."""
    def create(uow: UnitOfWork, payload: Mapping[str, Any], actor: User) -> dict[str, Any]:
        from zhida.matching.run import load_run
        from zhida.workflow.offers import create_offers

        if data_dir is None:
            raise ZhidaError("执行者未指定数据目录，无法读取匹配结果；请用 zhida jobs work --data-dir 运行。")
        confirm_by = payload.get("confirm_by")
        made = create_offers(uow, load_run(uow, str(payload["run"])), data_dir, str(payload["clause"]),
                             department=str(payload["department"]), actor=actor, period=payload.get("period"),
                             confirm_by=date.fromisoformat(confirm_by) if confirm_by else None)
        return {"created": [o.id for o in made], "total_fen": sum(o.amount_fen for o in made)}
    return create


def paying(bank: PaymentAdapter | None) -> Handler:
    """The `payments.send` handler: one approved batch's pending payments through `bank`."""
    def send(uow: UnitOfWork, payload: Mapping[str, Any], actor: User) -> dict[str, Any]:
        from zhida.workflow.batches import get_batch
        from zhida.workflow.disburse import pay_pending

        if bank is None:
            raise ZhidaError("本系统未接入银行代发接口，不能自动发送；请导出代发文件（zhida pay file 批次 --out 文件）"
                             "交银行，再导入回单（zhida pay import 回单）。")
        batch = get_batch(uow, int(payload["batch"]))
        if batch.state != "approved":
            raise ZhidaError(f"拨付批次 {batch.id} 尚未审批，不能发送银行。")
        done = pay_pending(lambda: uow, bank, actor=actor, only=[p.idempotency_key for p in batch.payments])
        return {"paid": done.paid, "failed": done.failed}
    return send


def registry(extra: Mapping[str, Handler] | None = None, *, bank: PaymentAdapter | None = None,
             data_dir: Path | None = None) -> Registry:
    r = Registry()
    r.register(REMIND, remind)
    r.register(EXPIRE, expire)
    r.register(ESCALATE, escalate)
    r.register(CREATE_OFFERS, creating(data_dir))
    r.register(SEND, paying(bank))
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
           extra: Mapping[str, Handler] | None = None, bank: PaymentAdapter | None = None,
           data_dir: Path | None = None, clock: Clock = _now) -> Worker:
    return Worker(uow_factory, registry(extra, bank=bank, data_dir=data_dir), actor_of=actor_of, name=name,
                  lease=lease, clock=clock)


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


def schedule_offers(uow: UnitOfWork, run_id: str, clause: str, *, department: str, actor: User,
                    confirm_by: date | None = None, period: str | None = None, clock: Clock = _now) -> Enqueued:
    """Enqueue making a clause's offers from run `run_id`'s whitelist (again: nothing new; the
    job itself is idempotent too: a firm with an offer keeps it)."""
    require(actor, Permission.RUN_MATCHING)
    if not department.strip():
        raise ZhidaError("请指定审核部门（--department，如 hrss）。")
    with uow:
        made = enqueue(uow, CREATE_OFFERS, {"run": run_id, "clause": clause, "department": department,
                                            "confirm_by": confirm_by.isoformat() if confirm_by else None,
                                            "period": period}, actor=actor,
                       dedupe_key=f"{CREATE_OFFERS}:{run_id}:{clause}:{period or ''}", clock=clock)
        uow.commit()
    return made


def schedule_send(uow: UnitOfWork, batch_id: int, *, actor: User, clock: Clock = _now) -> Enqueued:
    """Enqueue sending an approved payment batch through the bank adapter (again: nothing new)."""
    from zhida.workflow.batches import get_batch

    require(actor, Permission.PREPARE_PAYMENTS)
    with uow:
        batch = get_batch(uow, batch_id)
        if batch.state != "approved":
            raise NotAllowed(f"拨付批次 {batch_id} 尚未审批，不能发送银行；请先由编制人以外的财政人员审批："
                             f"zhida pay batch approve {batch_id} --as <用户名>。")
        made = enqueue(uow, SEND, {"batch": batch_id}, actor=actor, dedupe_key=f"{SEND}:batch:{batch_id}",
                       clock=clock)
        uow.commit()
    return made
