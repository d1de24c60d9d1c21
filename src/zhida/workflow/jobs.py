"""A durable job runner on the store's own `jobs` table (decision 0014).

* `enqueue` writes a job in the caller's transaction, so a job exists exactly when the work that
  asked for it commits; a `dedupe_key` makes enqueueing the same job again a no-op.
* A worker *claims* one due job with a lease (`locked_by`, `locked_until`): on PostgreSQL with
  `FOR UPDATE SKIP LOCKED`, on SQLite with one conditional UPDATE under the database's write
  lock. While the job runs, the worker renews the lease (a heartbeat, every third of it), so a
  job may run longer than its lease; a job whose lease lapsed (its worker died) is due again
  and another worker takes it over.
* The handler runs in a unit of work whose last write marks the job done — conditional on the
  worker still holding the lease — so the job's effects and its completion commit together: a
  worker killed mid-job leaves nothing behind, and a worker that lost its lease commits nothing.
* A failing job is retried with exponential backoff and ends `failed`, its error kept, after
  `max_attempts` attempts.

Handlers are registered by kind in a `Registry` (the kinds of this application are wired in
`zhida.workflow.jobkinds`); this module knows none of them.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from zhida.accounts import Permission, Role, User, require
from zhida.accounts.errors import NotAllowed
from zhida.db.tables.jobs import jobs
from zhida.db.uow import UnitOfWork
from zhida.errors import ZhidaError

Clock = Callable[[], datetime]
Handler = Callable[[UnitOfWork, Mapping[str, Any], User], Mapping[str, Any] | None]
ActorOf = Callable[[UnitOfWork, str], User]
STATES = ("queued", "running", "done", "failed")
STATE_LABELS = {"queued": "排队中", "running": "执行中", "done": "已完成", "failed": "失败"}
log = logging.getLogger(__name__)


class JobError(ZhidaError):
    """A job that cannot be enqueued, found or retried as asked."""


class _LeaseLost(Exception):
    """Another worker took the job over while this one ran it: commit nothing."""


@dataclass(frozen=True)
class Job:
    id: int
    kind: str
    payload: dict[str, Any]
    actor: str
    dedupe_key: str | None
    state: str
    run_at: datetime
    attempts: int
    max_attempts: int
    locked_by: str | None
    locked_until: datetime | None
    last_error: str | None
    result: dict[str, Any] | None
    created_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True)
class Enqueued:
    job: Job
    created: bool           # False: a job with the same dedupe key was already there


def _now() -> datetime:
    return datetime.now(UTC)


class Registry:
    """Handlers by kind: `handler(uow, payload, actor) -> result (JSON) or None`."""

    def __init__(self) -> None:
        self._handlers: dict[str, Handler] = {}

    def register(self, kind: str, handler: Handler) -> None:
        if kind in self._handlers:
            raise JobError(f"任务类型 {kind} 已登记处理程序，不能重复登记。")
        self._handlers[kind] = handler

    def handler(self, kind: str) -> Handler:
        try:
            return self._handlers[kind]
        except KeyError:
            raise JobError(f"没有任务类型 {kind} 的处理程序；已登记：{'、'.join(sorted(self._handlers)) or '（无）'}。"
                           ) from None

    @property
    def kinds(self) -> list[str]:
        return sorted(self._handlers)


def backoff(attempts: int, *, base: timedelta = timedelta(seconds=30), limit: timedelta = timedelta(hours=1)
            ) -> timedelta:
    """How long a job waits after its `attempts`-th failure: 30 s, 1 min, 2 min, … at most 1 h."""
    return min(base * 2 ** max(attempts - 1, 0), limit)


def enqueue(uow: UnitOfWork, kind: str, payload: Mapping[str, Any], *, actor: User, run_at: datetime | None = None,
            dedupe_key: str | None = None, max_attempts: int = 5, clock: Clock = _now) -> Enqueued:
    """Add a job in the caller's transaction (commits with it); with a `dedupe_key` already
    used, the job already there is returned and nothing is added."""
    if max_attempts < 1:
        raise JobError(f"最多尝试次数应至少为 1，实为 {max_attempts}。")
    now = clock()
    row = {"kind": kind, "payload": dict(payload), "actor": actor.username, "dedupe_key": dedupe_key,
           "state": "queued", "run_at": run_at or now, "attempts": 0, "max_attempts": max_attempts,
           "created_at": now}
    with uow:
        dialect = uow.conn.dialect.name
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as upsert
        else:
            from sqlalchemy.dialects.sqlite import insert as upsert  # type: ignore[assignment]
        stmt = upsert(jobs).values(**row)
        if dedupe_key is not None:
            stmt = stmt.on_conflict_do_nothing(index_elements=["dedupe_key"])
        new_id = uow.conn.execute(stmt.returning(jobs.c.id)).scalar()
        where = jobs.c.id == new_id if new_id is not None else jobs.c.dedupe_key == dedupe_key
        job = _job(uow.conn.execute(sa.select(jobs).where(where)).mappings().one())
        uow.commit()
    return Enqueued(job=job, created=new_id is not None)


def claim(uow: UnitOfWork, worker: str, *, lease: timedelta, clock: Clock = _now) -> Job | None:
    """Take the next due job (or one whose worker's lease lapsed) for `worker`, in a transaction
    of its own; None when nothing is due. A lapsed job that has used all its attempts is marked
    failed instead."""
    now = clock()
    j = jobs.c
    lapsed = (j.state == "running") & (j.locked_until < now)
    with uow:
        uow.conn.execute(sa.update(jobs).where(lapsed & (j.attempts >= j.max_attempts)).values(
            state="failed", finished_at=now, locked_by=None, locked_until=None,
            last_error=sa.func.coalesce(j.last_error, "") + "执行中断（执行者退出，租约过期），已达最多尝试次数。"))
        due = (((j.state == "queued") & (j.run_at <= now)) | lapsed) & (j.attempts < j.max_attempts)
        pick = sa.select(j.id).where(due).order_by(j.run_at, j.id).limit(1)
        if uow.conn.dialect.name == "postgresql":
            pick = pick.with_for_update(skip_locked=True)
        claimed = uow.conn.execute(sa.update(jobs).where((j.id == pick.scalar_subquery()) & due).values(
            state="running", locked_by=worker, locked_until=now + lease, attempts=j.attempts + 1)
            .returning(j.id)).scalar()
        job = None if claimed is None else _job(uow.conn.execute(sa.select(jobs).where(j.id == claimed))
                                                  .mappings().one())
        uow.commit()
    return job


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Worker:
    """Claims and runs jobs, one at a time. `uow_factory` gives a new unit of work per step;
    `actor_of(uow, username)` resolves the account a job runs as."""

    def __init__(self, uow_factory: Callable[[], UnitOfWork], registry: Registry, *, actor_of: ActorOf,
                 name: str | None = None, lease: timedelta = timedelta(minutes=10), clock: Clock = _now,
                 heartbeat: timedelta | None = None) -> None:
        """`heartbeat`: how often the lease of a running job is renewed (default: a third of
        the lease), so that a job that runs longer than its lease is not taken over."""
        self.uow_factory, self.registry, self.actor_of = uow_factory, registry, actor_of
        self.name = name or worker_name()
        self.lease, self.clock = lease, clock
        self.heartbeat = heartbeat if heartbeat is not None else lease / 3

    def run_once(self) -> Job | None:
        """Claim one due job and run it; the job as it ended (None: nothing was due)."""
        job = claim(self.uow_factory(), self.name, lease=self.lease, clock=self.clock)
        if job is None:
            return None
        try:
            self._execute(job)
        except _LeaseLost:
            pass
        except KeyboardInterrupt:
            self._release(job)
            raise
        except Exception as e:  # the job failed: retried later, or failed for good
            self._failed(job, e)
        return get_job(self.uow_factory(), job.id)

    def run(self, *, max_jobs: int | None = None, until_idle: bool = True,
            on_job: Callable[[Job], None] | None = None, idle: Callable[[], bool] | None = None) -> int:
        """Run jobs until none is due (`until_idle`) or `max_jobs` ran; when idle and not
        `until_idle`, `idle()` waits and says whether to go on. Returns how many ran."""
        ran = 0
        while max_jobs is None or ran < max_jobs:
            job = self.run_once()
            if job is None:
                if until_idle or idle is None or not idle():
                    break
                continue
            ran += 1
            if on_job is not None:
                on_job(job)
        return ran

    def _execute(self, job: Job) -> None:
        handler = self.registry.handler(job.kind)
        uow = self.uow_factory()
        with _Heartbeat(self, job), uow:
            actor = self.actor_of(uow, job.actor)
            result = handler(uow, job.payload, actor)
            done = uow.conn.execute(sa.update(jobs).where(_held(job.id, self.name)).values(
                state="done", finished_at=self.clock(), locked_by=None, locked_until=None,
                result=dict(result) if result is not None else None)).rowcount
            if done != 1:
                raise _LeaseLost
            uow.commit()

    def _failed(self, job: Job, error: Exception) -> None:
        message = str(error) if isinstance(error, ZhidaError) else f"执行出错（{type(error).__name__}）：{error}"
        now = self.clock()
        final = job.attempts >= job.max_attempts
        values: dict[str, Any] = {"last_error": message, "locked_by": None, "locked_until": None}
        if final:
            values |= {"state": "failed", "finished_at": now}
        else:
            values |= {"state": "queued", "run_at": now + backoff(job.attempts)}
        uow = self.uow_factory()
        with uow:
            uow.conn.execute(sa.update(jobs).where(_held(job.id, self.name)).values(**values))
            uow.commit()

    def _release(self, job: Job) -> None:
        """Interrupted (Ctrl-C) before the job committed: give it back, the attempt not counted."""
        uow = self.uow_factory()
        with uow:
            uow.conn.execute(sa.update(jobs).where(_held(job.id, self.name)).values(
                state="queued", locked_by=None, locked_until=None, attempts=jobs.c.attempts - 1))
            uow.commit()


class _Heartbeat:
    """While a job runs, renew its lease every `worker.heartbeat` in a unit of work of its own
    (only while this worker still holds it), so that a job longer than its lease is not taken
    over by another worker. A worker that dies stops renewing: the lease lapses as before. A
    renewal that fails (the database busy or away) is tried again at the next beat; stopping
    waits for a renewal in flight, which then matches nothing once the job is done."""

    def __init__(self, worker: Worker, job: Job) -> None:
        self.worker, self.job = worker, job
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"lease-{job.id}", daemon=True)

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _beat(self) -> None:
        w = self.worker
        while not self._stop.wait(w.heartbeat.total_seconds()):
            try:
                uow = w.uow_factory()
                with uow:
                    uow.conn.execute(sa.update(jobs).where(_held(self.job.id, w.name))
                                     .values(locked_until=w.clock() + w.lease))
                    uow.commit()
            except Exception:  # the next beat tries again; a lapsed lease is safe
                log.warning("任务 %s 的租约续期失败，下次再试", self.job.id, exc_info=True)


def get_job(uow: UnitOfWork, job_id: int) -> Job:
    with uow:
        row = uow.conn.execute(sa.select(jobs).where(jobs.c.id == job_id)).mappings().first()
    if row is None:
        raise JobError(f"没有编号为 {job_id} 的后台任务；请用 zhida jobs list 查看。")
    return _job(row)


def list_jobs(uow: UnitOfWork, *, actor: User, state: str | None = None, limit: int = 100) -> list[Job]:
    """The newest jobs (of one state), for staff who see dashboards."""
    require(actor, Permission.VIEW_DASHBOARDS)
    if state is not None and state not in STATES:
        raise JobError(f"任务状态“{state}”无法识别；可用：{'、'.join(STATES)}。")
    q = sa.select(jobs).order_by(jobs.c.id.desc()).limit(limit)
    if state is not None:
        q = q.where(jobs.c.state == state)
    with uow:
        return [_job(r) for r in uow.conn.execute(q).mappings()]


def retry(uow: UnitOfWork, job_id: int, *, actor: User, clock: Clock = _now) -> Job:
    """Put a failed job back in the queue with its attempts reset (its last error is kept until
    it runs again). For an administrator or the account the job runs as."""
    with uow:
        job = get_job(uow, job_id)
        if Role.ADMIN not in actor.roles and actor.username != job.actor:
            raise NotAllowed(f"用户 {actor.username} 不能重试任务 {job_id}（仅管理员或任务所属账号 {job.actor}）。")
        if job.state != "failed":
            raise JobError(f"任务 {job_id} 当前{STATE_LABELS[job.state]}，只有失败的任务可以重试。")
        uow.conn.execute(sa.update(jobs).where((jobs.c.id == job_id) & (jobs.c.state == "failed")).values(
            state="queued", attempts=0, run_at=clock(), finished_at=None))
        job = get_job(uow, job_id)
        uow.commit()
    return job


def _held(job_id: int, worker: str) -> sa.ColumnElement[bool]:
    return (jobs.c.id == job_id) & (jobs.c.state == "running") & (jobs.c.locked_by == worker)


def _job(row: sa.RowMapping) -> Job:
    return Job(**{c.name: row[c.name] for c in jobs.columns})
