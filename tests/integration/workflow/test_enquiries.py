"""诉求 on SQLite and PostgreSQL: routed by a hint or by topic, answered, closed with a rating or
reopened; one past its time limit is escalated (督办) once per lapse, by the service and as a job;
a department sees only its own, a firm only its own."""

from datetime import UTC, datetime, timedelta

import pytest

from zhida.accounts import SYSTEM, NotAllowed, Role, User
from zhida.accounts.demo import DEPARTMENTS
from zhida.accounts.service import add_department
from zhida.workflow import enquiries as enq
from zhida.workflow import jobkinds
from zhida.workflow.notifications import notifications_of

from .conftest import OTHER_REVIEWER, REVIEWER, firm

T0 = datetime(2024, 9, 2, 9, 0, tzinfo=UTC)
FIRM, OTHER = firm("91330300MA2ENQ0001"), firm("91330300MA2ENQ0002")
LEADER = User(id=20, username="leader", display_name="领导", roles=frozenset({Role.LEADER}))


@pytest.fixture
def db(database):
    with database.uow() as uow:
        for code, name in DEPARTMENTS:
            add_department(uow, code, name, actor=SYSTEM)
        uow.commit()
    return database


def test_a_request_is_routed_answered_and_closed_with_a_rating(db):
    e = enq.submit(db.uow(), actor=FIRM, text="扩岗补助申请后多久能到账？", clock=lambda: T0)
    assert (e.topic, e.department, e.state, e.due_by) == ("employment", "hrss", "open", T0 + timedelta(days=5))
    hinted = enq.submit(db.uow(), actor=FIRM, text="我们的问题请帮忙看看", department_hint="科学技术局（高新处）")
    assert hinted.department == "sti"
    plain = enq.submit(db.uow(), actor=FIRM, text="平台上的企业名称显示不全")
    assert (plain.topic, plain.department) == (enq.DEFAULT_TOPIC, "data")
    with pytest.raises(enq.EnquiryError, match="至少 5 个字"):
        enq.submit(db.uow(), actor=FIRM, text="到账？")
    with pytest.raises(NotAllowed):
        enq.submit(db.uow(), actor=REVIEWER, text="以部门身份提诉求试试")

    assert [x.id for x in enq.queue(db.uow(), actor=REVIEWER)] == [e.id]
    assert [x.id for x in enq.queue(db.uow(), actor=OTHER_REVIEWER)] == [hinted.id]
    assert len(enq.queue(db.uow(), actor=LEADER)) == 3
    with pytest.raises(NotAllowed):
        enq.reply(db.uow(), e.id, "答复", actor=OTHER_REVIEWER)
    with pytest.raises(NotAllowed):
        enq.get_enquiry(db.uow(), e.id, actor=OTHER)
    enq.reply(db.uow(), e.id, "核实后 10 个工作日内拨付。", actor=REVIEWER)
    assert "核实后 10 个工作日内拨付。" in [n.body for n in notifications_of(db.uow(), FIRM.uscc, actor=FIRM)]
    with pytest.raises(enq.EnquiryError, match="1 至 5 分"):
        enq.close(db.uow(), e.id, rating=6, actor=FIRM)
    reopened = enq.reopen(db.uow(), e.id, "已过 10 个工作日仍未到账", actor=FIRM, clock=lambda: T0 + timedelta(days=20))
    assert reopened.state == "open" and reopened.due_by == T0 + timedelta(days=25)
    enq.reply(db.uow(), e.id, "已于今日到账。", actor=REVIEWER)
    closed = enq.close(db.uow(), e.id, rating=4, note="解决了", actor=FIRM)
    assert (closed.state, closed.rating) == ("closed", 4)
    assert [x["action"] for x in enq.events_of(db.uow(), e.id, actor=FIRM)] == [
        "submit", "reply", "reopen", "reply", "close"]


def test_a_request_past_its_time_limit_is_escalated_once_per_lapse(db):
    e = enq.submit(db.uow(), actor=FIRM, text="留工培训补助没有收到通知", clock=lambda: T0)
    answered = enq.submit(db.uow(), actor=OTHER, text="稳岗返还比例是多少", clock=lambda: T0)
    enq.reply(db.uow(), answered.id, "中小微企业 60%。", actor=REVIEWER, clock=lambda: T0 + timedelta(days=1))
    assert enq.escalate_overdue(db.uow(), T0 + timedelta(days=4), actor=SYSTEM) == []      # within the limit
    late = T0 + timedelta(days=6)
    assert enq.escalate_overdue(db.uow(), late, actor=SYSTEM) == [e.id]                     # the answered one is not
    assert enq.escalate_overdue(db.uow(), late, actor=SYSTEM) == []                         # once per lapse
    again = enq.get_enquiry(db.uow(), e.id, actor=FIRM)
    assert (again.escalations, again.due_by) == (1, late + timedelta(days=5))
    assert [x.id for x in enq.queue(db.uow(), actor=REVIEWER, overdue_at=late + timedelta(days=6))] == [e.id]
    titles = [n.title for n in notifications_of(db.uow(), FIRM.uscc, actor=FIRM)]
    assert titles.count("您的诉求已督办") == 1

    later = late + timedelta(days=6)                                                        # late again: a job does it
    made = jobkinds.schedule_escalation(db.uow(), later, actor=SYSTEM, clock=lambda: later)
    assert not jobkinds.schedule_escalation(db.uow(), later, actor=SYSTEM, clock=lambda: later).created
    jobkinds.worker(db.uow, clock=lambda: later).run(max_jobs=5)
    assert enq.get_enquiry(db.uow(), e.id, actor=FIRM).escalations == 2
    assert made.job.kind == jobkinds.ESCALATE
