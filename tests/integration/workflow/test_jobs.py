"""The durable job runner on SQLite and PostgreSQL: dedupe, claim and lease, retry with backoff,
effects that commit with the job's completion, a worker killed mid-job taken over after its
lease, and many workers on PostgreSQL each claiming a job once."""

import subprocess
import sys
import textwrap
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from zhida.accounts import SYSTEM, User
from zhida.accounts.errors import NotAllowed
from zhida.db.tables import notifications
from zhida.db.tables.jobs import jobs
from zhida.errors import ZhidaError
from zhida.workflow import jobs as runner
from zhida.workflow.notifications import notify

from .conftest import CLAUSE, FINANCE, REVIEWER

T0 = datetime(2024, 9, 28, 1, 0, tzinfo=UTC)
USCC = "91330300MA2XXXXX01"


class Clock:
    """Time the test moves by hand (no sleeping, no timed assertions)."""

    def __init__(self, at: datetime = T0) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **kw: float) -> None:
        self.at += timedelta(**kw)


def users(_uow, username: str) -> User:
    return {u.username: u for u in (SYSTEM, REVIEWER, FINANCE)}[username]


def send(uow, payload, actor):
    """A handler with an effect the test can count: one notification per run that commits."""
    notify(uow, uscc=payload["uscc"], kind="test", title=f"任务 {payload['n']}", body=actor.username)
    return {"n": payload["n"]}


def registry(**extra) -> runner.Registry:
    r = runner.Registry()
    r.register("test.send", send)
    for kind, handler in extra.items():
        r.register(kind.replace("_", "."), handler)
    return r


def sent(database) -> int:
    with database.uow() as uow:
        return uow.conn.execute(sa.select(sa.func.count()).select_from(notifications)
                                .where(notifications.c.kind == "test")).scalar_one()


def test_enqueueing_the_same_dedupe_key_again_adds_nothing(database):
    first = runner.enqueue(database.uow(), "test.send", {"uscc": USCC, "n": 1}, actor=REVIEWER, dedupe_key="d:1")
    again = runner.enqueue(database.uow(), "test.send", {"uscc": USCC, "n": 2}, actor=REVIEWER, dedupe_key="d:1")
    other = runner.enqueue(database.uow(), "test.send", {"uscc": USCC, "n": 3}, actor=REVIEWER)
    assert first.created and not again.created and other.created
    assert again.job.id == first.job.id and again.job.payload == {"uscc": USCC, "n": 1}
    assert [j.id for j in runner.list_jobs(database.uow(), actor=SYSTEM)] == [other.job.id, first.job.id]
    with pytest.raises(NotAllowed):
        runner.list_jobs(database.uow(), actor=REVIEWER)


def test_a_job_runs_when_due_as_its_actor_and_its_result_is_kept(database):
    clock = Clock()
    later = runner.enqueue(database.uow(), "test.send", {"uscc": USCC, "n": 2}, actor=FINANCE,
                           run_at=T0 + timedelta(hours=1), clock=clock).job
    now = runner.enqueue(database.uow(), "test.send", {"uscc": USCC, "n": 1}, actor=REVIEWER, clock=clock).job
    worker = runner.Worker(database.uow, registry(), actor_of=users, name="w1", clock=clock)
    assert worker.run(max_jobs=10) == 1                      # only the due one
    done = runner.get_job(database.uow(), now.id)
    assert (done.state, done.attempts, done.result, done.finished_at) == ("done", 1, {"n": 1}, T0)
    assert done.locked_by is None and runner.get_job(database.uow(), later.id).state == "queued"
    clock.advance(hours=1)
    assert worker.run_once().state == "done"
    with database.uow() as uow:
        bodies = uow.conn.execute(sa.select(notifications.c.body).order_by(notifications.c.id)).scalars().all()
    assert bodies == ["reviewer", "finance"]


def test_a_claimed_job_is_not_claimed_again_until_its_lease_lapses(database):
    clock = Clock()
    job = runner.enqueue(database.uow(), "test.send", {"uscc": USCC, "n": 1}, actor=REVIEWER, clock=clock).job
    lease = timedelta(minutes=10)
    mine = runner.claim(database.uow(), "w1", lease=lease, clock=clock)
    assert (mine.id, mine.state, mine.locked_by, mine.locked_until, mine.attempts) == (
        job.id, "running", "w1", T0 + lease, 1)
    clock.advance(minutes=9)
    assert runner.claim(database.uow(), "w2", lease=lease, clock=clock) is None
    clock.advance(minutes=2)                                  # w1's lease lapsed: w2 takes the job over
    taken = runner.claim(database.uow(), "w2", lease=lease, clock=clock)
    assert (taken.id, taken.locked_by, taken.attempts) == (job.id, "w2", 2)


def test_a_worker_that_lost_its_lease_commits_nothing(database):
    clock = Clock()
    runner.enqueue(database.uow(), "test.send", {"uscc": USCC, "n": 1}, actor=REVIEWER, clock=clock)

    def slow(uow, payload, actor):      # while it runs, its lease lapses and w2 takes the job over
        clock.advance(minutes=11)
        assert runner.claim(database.uow(), "w2", lease=timedelta(minutes=10), clock=clock) is not None
        return send(uow, payload, actor)

    r = runner.Registry()
    r.register("test.send", slow)
    job = runner.Worker(database.uow, r, actor_of=users, name="w1", clock=clock).run_once()
    assert (job.state, job.locked_by) == ("running", "w2") and sent(database) == 0
    clock.advance(minutes=11)                                 # w2 died too: w3 finishes the job
    done = runner.Worker(database.uow, registry(), actor_of=users, name="w3", clock=clock).run_once()
    assert (done.id, done.state, done.attempts) == (job.id, "done", 3) and sent(database) == 1


def test_a_job_longer_than_its_lease_keeps_it_while_its_worker_lives(database):
    """The worker renews the lease while the handler runs (a heartbeat): past the first lease,
    another worker finds nothing to take over, and the job is done once, on its first attempt."""
    clock = Clock()
    runner.enqueue(database.uow(), "test.send", {"uscc": USCC, "n": 1}, actor=REVIEWER, clock=clock)
    lease = timedelta(minutes=10)

    def renewed_after(at: datetime) -> bool:
        with database.uow() as uow:
            until = uow.conn.execute(sa.select(jobs.c.locked_until)).scalar_one()
        return until.replace(tzinfo=UTC) > at

    def long(uow, payload, actor):
        clock.advance(minutes=8)
        # wait (a condition, bounded) for a beat at the new time: 8 + 10 minutes
        for _ in range(500):
            if renewed_after(T0 + lease):
                break
            threading.Event().wait(0.01)
        clock.advance(minutes=8)                               # 16 minutes: past the first lease
        assert runner.claim(database.uow(), "w2", lease=lease, clock=clock) is None
        return send(uow, payload, actor)

    r = runner.Registry()
    r.register("test.send", long)
    job = runner.Worker(database.uow, r, actor_of=users, name="w1", clock=clock, lease=lease,
                        heartbeat=timedelta(milliseconds=20)).run_once()
    assert (job.state, job.attempts, job.locked_by) == ("done", 1, None) and sent(database) == 1


def test_a_failing_job_is_retried_with_backoff_then_fails_with_its_error_and_can_be_retried(database):
    clock = Clock()
    calls = []

    def flaky(uow, payload, actor):
        calls.append(clock())
        send(uow, payload, actor)                          # written, then undone by the failure
        raise ZhidaError("银行接口暂不可用，请稍后重试。")

    job = runner.enqueue(database.uow(), "test.flaky", {"uscc": USCC, "n": 1}, actor=REVIEWER, max_attempts=3,
                         clock=clock).job
    worker = runner.Worker(database.uow, registry(test_flaky=flaky), actor_of=users, name="w1", clock=clock)
    first = worker.run_once()
    assert (first.state, first.attempts, first.run_at) == ("queued", 1, T0 + timedelta(seconds=30))
    assert first.last_error == "银行接口暂不可用，请稍后重试。" and first.locked_by is None
    assert worker.run_once() is None                          # not due before its backoff
    clock.advance(seconds=30)
    assert worker.run_once().run_at == clock() + timedelta(minutes=1)
    clock.advance(minutes=1)
    last = worker.run_once()
    assert (last.state, last.attempts, last.finished_at) == ("failed", 3, clock())
    assert last.last_error == "银行接口暂不可用，请稍后重试。"
    clock.advance(hours=2)
    assert worker.run_once() is None and len(calls) == 3 and sent(database) == 0

    with pytest.raises(NotAllowed):
        runner.retry(database.uow(), job.id, actor=FINANCE)
    again = runner.retry(database.uow(), job.id, actor=REVIEWER, clock=clock)
    assert (again.state, again.attempts) == ("queued", 0)
    with pytest.raises(runner.JobError, match="只有失败的任务"):
        runner.retry(database.uow(), job.id, actor=SYSTEM)
    assert [j.id for j in runner.list_jobs(database.uow(), actor=SYSTEM, state="queued")] == [job.id]


def test_an_unknown_kind_or_a_crash_is_recorded_in_chinese(database):
    clock = Clock()
    job = runner.enqueue(database.uow(), "test.nobody", {}, actor=REVIEWER, max_attempts=1, clock=clock).job

    def broken(uow, payload, actor):
        return {"x": 1 / 0}

    bug = runner.enqueue(database.uow(), "test.broken", {}, actor=REVIEWER, max_attempts=1, clock=clock).job
    worker = runner.Worker(database.uow, registry(test_broken=broken), actor_of=users, name="w1", clock=clock)
    assert worker.run() == 2
    assert "没有任务类型 test.nobody 的处理程序" in runner.get_job(database.uow(), job.id).last_error
    assert runner.get_job(database.uow(), bug.id).last_error == "执行出错（ZeroDivisionError）：division by zero"


WORKER_THAT_DIES = textwrap.dedent("""
    import os, sys
    from datetime import timedelta
    from zhida.db import Database, create_engine
    from zhida.workflow import jobs as runner
    from zhida.workflow.notifications import notify
    from zhida.accounts import SYSTEM

    url, search_path = sys.argv[1], sys.argv[2]
    kw = {"connect_args": {"options": f"-csearch_path={search_path}"}} if search_path else {}
    db = Database(create_engine(url, **kw))

    def send_then_die(uow, payload, actor):
        notify(uow, uscc=payload["uscc"], kind="test", title="任务", body=actor.username)
        print("in the middle", flush=True)
        os._exit(9)                     # killed after the effect, before the job commits

    r = runner.Registry()
    r.register("test.send", send_then_die)
    runner.Worker(db.uow, r, actor_of=lambda uow, name: SYSTEM, name="doomed",
                  lease=timedelta(minutes=10)).run_once()
    print("survived", flush=True)
""")


def test_a_worker_killed_in_the_middle_of_a_job_is_taken_over_after_its_lease_exactly_once(database):
    job = runner.enqueue(database.uow(), "test.send", {"uscc": USCC, "n": 1}, actor=SYSTEM).job
    search_path = ""
    if database.engine.dialect.name == "postgresql":
        with database.uow() as uow:
            search_path = uow.conn.execute(sa.text("SHOW search_path")).scalar_one()
    url = database.engine.url.render_as_string(hide_password=False)
    died = subprocess.run([sys.executable, "-c", WORKER_THAT_DIES, url, search_path], capture_output=True,
                          text=True, timeout=120)
    assert died.returncode == 9 and "in the middle" in died.stdout and "survived" not in died.stdout, died.stderr
    left = runner.get_job(database.uow(), job.id)
    assert (left.state, left.locked_by, left.attempts) == ("running", "doomed", 1) and sent(database) == 0

    clock = Clock(left.locked_until - timedelta(seconds=1))
    rescuer = runner.Worker(database.uow, registry(), actor_of=users, name="rescuer", clock=clock)
    assert rescuer.run_once() is None                         # the lease still holds
    clock.advance(seconds=2)
    done = rescuer.run_once()
    assert (done.id, done.state, done.attempts) == (job.id, "done", 2)
    assert rescuer.run_once() is None and sent(database) == 1


def test_a_job_whose_worker_died_on_its_last_attempt_ends_failed(database):
    clock = Clock()
    job = runner.enqueue(database.uow(), "test.send", {"uscc": USCC, "n": 1}, actor=REVIEWER, max_attempts=1,
                         clock=clock).job
    runner.claim(database.uow(), "doomed", lease=timedelta(minutes=10), clock=clock)   # … and the worker dies
    clock.advance(minutes=11)
    assert runner.claim(database.uow(), "w2", lease=timedelta(minutes=10), clock=clock) is None
    failed = runner.get_job(database.uow(), job.id)
    assert failed.state == "failed" and "租约过期" in failed.last_error and sent(database) == 0


def test_concurrent_workers_on_postgresql_each_claim_a_job_once(pg):
    for n in range(60):
        runner.enqueue(pg.uow(), "test.send", {"uscc": USCC, "n": n}, actor=REVIEWER)

    def work(i: int) -> int:
        return runner.Worker(pg.uow, registry(), actor_of=users, name=f"w{i}").run()

    with ThreadPoolExecutor(max_workers=8) as pool:
        ran = list(pool.map(work, range(8)))
    assert sum(ran) == 60
    with pg.uow() as uow:
        states = uow.conn.execute(sa.select(jobs.c.state, jobs.c.attempts, sa.func.count())
                                  .group_by(jobs.c.state, jobs.c.attempts)).all()
        titles = uow.conn.execute(sa.select(notifications.c.title)).scalars().all()
    assert states == [("done", 1, 60)]
    assert sorted(titles) == sorted(f"任务 {n}" for n in range(60))


def test_the_days_reminders_and_expiry_run_as_jobs_scheduled_once_per_day(database, published_run, setup):
    from datetime import date

    from zhida.workflow import jobkinds
    from zhida.workflow.batches import review
    from zhida.workflow.notices import close_notice, start_notice
    from zhida.workflow.offers import get_offer
    from zhida.workflow.states import OfferState

    from .test_offers import _accept, _offers

    made = _offers(database, published_run, setup)          # confirm by 2024-09-30
    review(database.uow(), CLAUSE, actor=REVIEWER)
    notice = start_notice(database.uow(), CLAUSE, start=date(2024, 9, 2), days=5, actor=REVIEWER)
    close_notice(database.uow(), notice.id, date(2024, 9, 7), actor=REVIEWER)
    confirming, *silent = made
    _accept(database, confirming)
    worker = runner.Worker(database.uow, jobkinds.registry(), actor_of=users, name="w1")

    with pytest.raises(NotAllowed, match="--as"):
        jobkinds.schedule_day(database.uow(), date(2024, 9, 28), actor=SYSTEM)
    first = jobkinds.schedule_day(database.uow(), date(2024, 9, 28), actor=REVIEWER)
    again = jobkinds.schedule_day(database.uow(), date(2024, 9, 28), actor=REVIEWER)
    assert [m.created for m in first] == [True, True] and [m.created for m in again] == [False, False]
    assert worker.run() == 2
    remind = runner.get_job(database.uow(), first[0].job.id)
    assert remind.result == {"sent": sorted(o.id for o in silent), "already": []}
    assert runner.get_job(database.uow(), first[1].job.id).result == {"waived": []}

    jobkinds.schedule_day(database.uow(), date(2024, 10, 1), actor=REVIEWER)
    assert worker.run() == 2
    assert all(get_offer(database.uow(), o.id).state is OfferState.WAIVED for o in silent)
    assert get_offer(database.uow(), confirming.id).state is OfferState.CONFIRMED


def test_a_job_runs_as_its_account_as_the_store_has_it_now(database):
    from zhida.accounts import Role
    from zhida.accounts.service import add_department, add_user, set_active
    from zhida.workflow import jobkinds

    add_department(database.uow(), "hrss", "人社局", actor=SYSTEM)
    add_user(database.uow(), username="rev", display_name="审核", password=None, roles=[Role.REVIEWER],
             department="hrss", actor=SYSTEM)
    assert jobkinds.actor_of(database.uow(), "system") is SYSTEM
    assert jobkinds.actor_of(database.uow(), "rev").department == "hrss"
    set_active(database.uow(), "rev", False, actor=SYSTEM)
    with pytest.raises(NotAllowed, match="已停用"):
        jobkinds.actor_of(database.uow(), "rev")


def test_a_runs_offers_are_made_by_a_job_enqueued_in_the_callers_transaction_once(database, published_run, setup):
    from datetime import date

    from zhida.db.tables import offers
    from zhida.workflow import jobkinds

    clock = Clock()
    with database.uow() as uow:                       # enqueued in a transaction that rolls back: no job
        jobkinds.schedule_offers(uow, published_run.id, CLAUSE, department="hrss", actor=SYSTEM, clock=clock)
    assert runner.list_jobs(database.uow(), actor=SYSTEM) == []
    with pytest.raises(NotAllowed):
        jobkinds.schedule_offers(database.uow(), published_run.id, CLAUSE, department="hrss", actor=FINANCE)
    first = jobkinds.schedule_offers(database.uow(), published_run.id, CLAUSE, department="hrss", actor=SYSTEM,
                                     confirm_by=date(2024, 9, 30), clock=clock)
    again = jobkinds.schedule_offers(database.uow(), published_run.id, CLAUSE, department="hrss", actor=SYSTEM,
                                     confirm_by=date(2024, 9, 30), clock=clock)
    assert (first.created, again.created, again.job.id) == (True, False, first.job.id)

    no_data = runner.Worker(database.uow, jobkinds.registry(), actor_of=users, name="w0", clock=clock)
    assert no_data.run_once().last_error.startswith("执行者未指定数据目录")      # retried later, not lost
    clock.advance(minutes=1)
    worker = runner.Worker(database.uow, jobkinds.registry(data_dir=setup.data_dir), actor_of=users, name="w1",
                           clock=clock)
    job = worker.run_once()
    assert job.state == "done" and job.attempts == 2
    with database.uow() as uow:
        made = uow.conn.execute(sa.select(offers.c.id, offers.c.confirm_by).order_by(offers.c.id)).all()
    assert made and job.result["created"] == [i for i, _ in made]
    assert {d for _, d in made} == {date(2024, 9, 30)}
    # a second run of the same job (say, retried by hand) makes nothing new: create_offers is idempotent
    handler = jobkinds.creating(setup.data_dir)
    with database.uow() as uow:
        assert handler(uow, first.job.payload, SYSTEM)["created"] == []


class FlakyBank:
    """The loopback bank behind a line that drops the first `drops` requests."""

    def __init__(self, bank, drops: int) -> None:
        self.bank, self.drops = bank, drops

    def send(self, key, account_no, account_name, amount_fen):
        result = self.bank.send(key, account_no, account_name, amount_fen)
        if self.drops:            # the bank paid, but the answer never came back
            self.drops -= 1
            raise ConnectionError("银行接口连接中断")
        return result


def test_an_approved_batch_is_sent_through_the_bank_by_a_job_retried_after_a_lost_answer_and_paid_once(
        database, published_run, setup, tmp_path):
    from zhida.workflow import jobkinds, ledger
    from zhida.workflow.bank import LoopbackBank
    from zhida.workflow.batches import approve_batch, prepare_batch
    from zhida.workflow.offers import get_offer
    from zhida.workflow.payments import fund_budget
    from zhida.workflow.states import OfferState

    from .test_batches import FINANCE2, POLICY, confirmed_offers

    clock = Clock()
    confirmed = confirmed_offers(database, published_run, setup)
    fund_budget(database.uow(), POLICY, 2024, sum(o.amount_fen for o in confirmed), actor=FINANCE)
    batch = prepare_batch(database.uow(), CLAUSE, 2024, actor=FINANCE)
    with pytest.raises(NotAllowed, match="尚未审批"):
        jobkinds.schedule_send(database.uow(), batch.id, actor=FINANCE, clock=clock)
    approve_batch(database.uow(), batch.id, actor=FINANCE2)
    with pytest.raises(NotAllowed):
        jobkinds.schedule_send(database.uow(), batch.id, actor=REVIEWER, clock=clock)
    first = jobkinds.schedule_send(database.uow(), batch.id, actor=FINANCE, clock=clock)
    assert not jobkinds.schedule_send(database.uow(), batch.id, actor=FINANCE, clock=clock).created

    unwired = runner.Worker(database.uow, jobkinds.registry(), actor_of=users, name="w0", clock=clock)
    assert "代发文件" in unwired.run_once().last_error                     # no adapter: says what to do instead
    loopback = LoopbackBank(sa.create_engine(f"sqlite:///{tmp_path / 'bank.sqlite'}"))
    clock.advance(minutes=1)
    flaky = runner.Worker(database.uow, jobkinds.registry(bank=FlakyBank(loopback, drops=1)), actor_of=users,
                          name="w1", clock=clock)
    dropped = flaky.run_once()
    assert dropped.state == "queued" and "ConnectionError" in dropped.last_error
    assert all(get_offer(database.uow(), o.id).state is OfferState.PAYING for o in confirmed)  # rolled back
    assert len(loopback.paid_keys()) == 1                                  # … though the bank paid one

    clock.advance(minutes=5)
    job = flaky.run_once()
    assert job.state == "done" and job.attempts == 3
    keys = {p.idempotency_key: p.amount_fen for p in batch.payments}
    assert sorted(job.result["paid"]) == sorted(keys) and job.result["failed"] == []
    assert loopback.paid_keys() == keys                                    # each paid once, the resend included
    assert all(get_offer(database.uow(), o.id).state is OfferState.PAID for o in confirmed)
    assert ledger.balance(database.uow(), ledger.paid_account(POLICY, 2024)) == sum(keys.values())
    ledger.check_balanced(database.uow())
    assert runner.get_job(database.uow(), first.job.id).state == "done"
