"""即申即办 applications on the demo city and the real pack: pre-filled with the facts the clause
reads and their sources, decided at once on verified data, routed to review with a time limit
when the firm declared a fact, rejected with a reason and resubmitted, the award paid once
through the same offers, and a declared fact never entering the profile."""

from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest
import sqlalchemy as sa

from zhida.accounts import SYSTEM
from zhida.accounts.demo import DEPARTMENTS
from zhida.accounts.errors import NotAllowed
from zhida.accounts.service import add_department
from zhida.db import tables as t
from zhida.db.scope import Scope, restrict
from zhida.matching.evaluate import match_frame
from zhida.matching.run import population_frame
from zhida.profiles.registry import load_registry
from zhida.published import publish
from zhida.rules.evaluate.engine import compile_policies
from zhida.workflow import applications as apps
from zhida.workflow import materials as bank
from zhida.workflow.states import ApplicationState, OfferState, TransitionNotAllowed

from ..matching.conftest import ZONES
from .conftest import OTHER_REVIEWER, REVIEWER, firm

CLAUSE = "cn-mof-2017-164-graduate-social-insurance/graduate-si-subsidy"
TODAY = date(2024, 6, 30)
NOW = datetime(2024, 6, 30, 9, 0, tzinfo=UTC)
DECLARED = "graduate_si_employer_paid@2023"
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@pytest.fixture
def city(database, store, policies, schema):
    """The pack published, the departments registered, and three firms of the city by what the
    batch engine says of the clause: eligible, unknown for want of one fact, ineligible."""
    return _city(database, store, policies, schema)


def _city(database, store, policies, schema):
    publish(database.uow(), policies, actor=SYSTEM)
    with database.uow() as uow:
        for code, name in DEPARTMENTS:
            add_department(uow, code, name, actor=SYSTEM)
        uow.commit()
    pack = compile_policies([p for p in policies if p.id == CLAUSE.split("/")[0]], schema, TODAY)
    results = match_frame(pack, population_frame(store, pack.requirements, TODAY, schema, ZONES))
    frame = population_frame(store, pack.requirements, TODAY, schema, ZONES)
    unknown_for_one = frame.filter(pl.col(DECLARED).is_null() & pl.col("enterprise_size@2023").is_in(["小型", "微型"]))
    firms = {
        "eligible": results.filter(pl.col("status") == "eligible")["uscc"][0],
        "unknown": unknown_for_one["uscc"][0],
        "ineligible": results.filter(pl.col("status").is_in(["ineligible", "near_miss"]))["uscc"][0],
    }
    facts = apps.ProfileFacts(store=store, schema=schema, registry=load_registry(), zones_dir=ZONES)
    return facts, firms


def account(**kw):
    return {"account_name": "某某科技有限公司", "account_bank": "工商银行温州分行", "account_no": "6222020200112233",
            "pledge": True} | kw


def test_a_firm_with_complete_verified_data_is_decided_at_once_and_its_award_is_ready_for_payment(database, city):
    facts, firms = city
    me = firm(firms["eligible"])
    a = apps.start(database.uow(), facts, CLAUSE, actor=me, today=TODAY, clock=lambda: NOW)
    assert a.state is ApplicationState.DRAFT and a.department == "hrss" and a.period == "2024"
    f = apps.form(database.uow(), facts, a.id, actor=me)
    lines = {x.column: x for x in f.facts}
    assert set(lines) == {"enterprise_size@2023", DECLARED}           # exactly what the clause reads
    assert lines[DECLARED].value is not None and "人" in lines[DECLARED].source and not lines[DECLARED].declared
    assert f.verified.status == "eligible" and f.to_supply == [] and "即时办结" in f.decision

    done = apps.submit(database.uow(), facts, a.id, actor=me, clock=lambda: NOW, **account())
    assert done.state is ApplicationState.APPROVED and done.due_by is None and done.offer_id is not None
    with database.uow() as uow:
        offer = uow.conn.execute(sa.select(t.offers).where(t.offers.c.id == done.offer_id)).mappings().one()
        note = uow.conn.execute(sa.select(t.notifications.c.title).where(
            t.notifications.c.application_id == a.id)).scalars().all()
    assert offer["state"] == OfferState.CONFIRMED.value and offer["run_id"] is None
    assert offer["amount_fen"] == f.result.amount_fen > 0 and offer["account_name"] == "某某科技有限公司"
    assert note == ["申报已通过"]
    again = apps.start(database.uow(), facts, CLAUSE, actor=me, today=TODAY)                   # same year: the same one
    assert again.id == a.id
    with pytest.raises(TransitionNotAllowed, match="不能再修改或提交"):
        apps.submit(database.uow(), facts, a.id, actor=me, **account())


def test_a_self_declared_fact_routes_to_review_with_a_time_limit_and_never_enters_the_profile(database, city, policies):
    facts, firms = city
    me = firm(firms["unknown"])
    a = apps.start(database.uow(), facts, CLAUSE, actor=me, today=TODAY, clock=lambda: NOW)
    f = apps.form(database.uow(), facts, a.id, actor=me)
    assert f.result.status == "unknown" and [x.column for x in f.to_supply] == [DECLARED]
    with pytest.raises(apps.ApplicationError, match=r"暂不能提交：还缺少以下事实.*吸纳高校毕业生单位缴费额"):
        apps.submit(database.uow(), facts, a.id, actor=me, **account())
    with pytest.raises(apps.ApplicationError, match=r"企业规模.*不能自报覆盖"):
        apps.declare(database.uow(), facts, a.id, {"enterprise_size@2023": "微型"}, actor=me)
    with pytest.raises(apps.ApplicationError, match="“三万六”"):
        apps.declare(database.uow(), facts, a.id, {DECLARED: "三万六"}, actor=me)
    apps.declare(database.uow(), facts, a.id, {DECLARED: "36000"}, actor=me)
    f = apps.form(database.uow(), facts, a.id, actor=me)
    line = next(x for x in f.facts if x.column == DECLARED)
    assert line.declared and line.value == "36000" and line.source == apps.SELF
    assert f.verified.status == "unknown" and f.result.status == "eligible" and f.result.amount_fen == 3_600_000

    queued = apps.submit(database.uow(), facts, a.id, actor=me, clock=lambda: NOW, **account())
    assert queued.state is ApplicationState.IN_REVIEW and queued.offer_id is None
    assert queued.due_by == NOW + timedelta(days=apps.REVIEW_DAYS)
    assert [x.id for x in apps.review_queue(database.uow(), actor=REVIEWER)] == [a.id]
    assert apps.review_queue(database.uow(), actor=REVIEWER, overdue_at=NOW + timedelta(days=11))[0].overdue(
        NOW + timedelta(days=11))
    # the declared value is the application's, not the profile's: a match still does not know it
    pack = compile_policies([p for p in policies if p.id == CLAUSE.split("/")[0]], facts.schema, TODAY)
    frame = population_frame(facts.store, pack.requirements, TODAY, facts.schema, ZONES, usccs=[me.uscc])
    assert frame[DECLARED].to_list() == [None]
    assert match_frame(pack, frame)["status"].to_list() == ["unknown"]
    with database.uow() as uow:
        assert uow.conn.execute(sa.select(sa.func.count()).select_from(t.offers).where(
            t.offers.c.uscc == me.uscc)).scalar_one() == 0
    assert apps.form(database.uow(), facts, a.id, actor=REVIEWER).verified.status == "unknown"


def test_a_rejection_names_its_reason_and_the_firm_resubmits_keeping_the_history(database, city):
    facts, firms = city
    me = firm(firms["unknown"])
    a = apps.start(database.uow(), facts, CLAUSE, actor=me, today=TODAY)
    apps.declare(database.uow(), facts, a.id, {DECLARED: "36000"}, actor=me)
    apps.submit(database.uow(), facts, a.id, actor=me, **account())
    with pytest.raises(apps.ApplicationError, match="须写明理由"):
        apps.decide(database.uow(), a.id, approve=False, actor=REVIEWER)
    with pytest.raises(NotAllowed):
        apps.decide(database.uow(), a.id, approve=True, actor=OTHER_REVIEWER)
    with pytest.raises(NotAllowed):
        apps.get_application(database.uow(), a.id, actor=OTHER_REVIEWER)
    rejected = apps.decide(database.uow(), a.id, approve=False, actor=REVIEWER, reason="缴费明细与名册不符")
    assert rejected.state is ApplicationState.REJECTED
    apps.declare(database.uow(), facts, a.id, {DECLARED: "30000"}, actor=me)
    apps.submit(database.uow(), facts, a.id, actor=me, **account())
    approved = apps.decide(database.uow(), a.id, approve=True, actor=REVIEWER)
    assert approved.state is ApplicationState.APPROVED and approved.amount_fen == 3_000_000
    history = [(e["action"], e["actor"]) for e in apps.events_of(database.uow(), a.id, actor=me)]
    assert history == [("start", me.username), ("declare", me.username), ("submit", me.username),
                       ("reject", "reviewer"), ("declare", me.username), ("submit", me.username),
                       ("approve", "reviewer")]
    reasons = [e["detail"] for e in apps.events_of(database.uow(), a.id, actor=me) if e["action"] == "reject"]
    assert reasons == [{"reason": "缴费明细与名册不符"}]


def test_an_ineligible_firm_is_told_why_and_cannot_submit(database, city):
    facts, firms = city
    me = firm(firms["ineligible"])
    a = apps.start(database.uow(), facts, CLAUSE, actor=me, today=TODAY)
    f = apps.form(database.uow(), facts, a.id, actor=me)
    assert f.result.status == "ineligible" and f.decision.startswith("按现有数据不符合条件：")
    with pytest.raises(apps.ApplicationError, match="暂不能提交：按现有数据不符合条件"):
        apps.submit(database.uow(), facts, a.id, actor=me, **account())


def test_only_the_firm_applies_for_itself_and_only_for_clauses_one_applies_for(database, city):
    facts, firms = city
    with pytest.raises(NotAllowed):
        apps.start(database.uow(), facts, CLAUSE, actor=REVIEWER, today=TODAY)
    with pytest.raises(apps.ApplicationError, match=r"免申即享.*不需要申报"):
        apps.start(database.uow(), facts, "cn-hrss-2024-40-job-retention/refund-sme", actor=firm(firms["eligible"]),
                   today=TODAY)
    a = apps.start(database.uow(), facts, CLAUSE, actor=firm(firms["eligible"]), today=TODAY)
    with pytest.raises(NotAllowed):
        apps.get_application(database.uow(), a.id, actor=firm(firms["unknown"]))


def test_materials_are_uploaded_once_checked_by_content_and_attached(database, city, tmp_path):
    facts, firms = city
    me = firm(firms["eligible"])
    m = bank.upload(database.uow(), tmp_path, actor=me, file_name="毕业生花名册2023.pdf", content=PDF)
    assert m.kind == "roster" and m.content_type == "application/pdf"
    assert bank.upload(database.uow(), tmp_path, actor=me, file_name="名册.pdf", content=PDF).id == m.id
    with pytest.raises(bank.MaterialError, match=r"内容不是 \.pdf 文件"):
        bank.upload(database.uow(), tmp_path, actor=me, file_name="营业执照.pdf", content=b"MZ\x90\x00 not a pdf")
    with pytest.raises(bank.MaterialError, match="类型不能上传"):
        bank.upload(database.uow(), tmp_path, actor=me, file_name="run.exe", content=PDF)
    with pytest.raises(bank.MaterialError, match="空文件"):
        bank.upload(database.uow(), tmp_path, actor=me, file_name="空.pdf", content=b"")
    a = apps.start(database.uow(), facts, CLAUSE, actor=me, today=TODAY)
    assert [x.id for x in apps.attach(database.uow(), a.id, m.id, actor=me)] == [m.id]
    assert [x.id for x in apps.attach(database.uow(), a.id, m.id, actor=me)] == [m.id]      # again: no change
    other = firm(firms["unknown"])
    with pytest.raises(apps.ApplicationError, match="不在本企业的材料银行中"):
        b = apps.start(database.uow(), facts, CLAUSE, actor=other, today=TODAY)
        apps.attach(database.uow(), b.id, m.id, actor=other)
    assert bank.read(database.uow(), tmp_path, m.id, actor=me)[1] == PDF
    with pytest.raises(NotAllowed):
        bank.read(database.uow(), tmp_path, m.id, actor=REVIEWER)      # attached to a draft: not the department's yet
    apps.submit(database.uow(), facts, a.id, actor=me, **account())
    assert bank.read(database.uow(), tmp_path, m.id, actor=REVIEWER)[1] == PDF
    with pytest.raises(NotAllowed):
        bank.read(database.uow(), tmp_path, m.id, actor=OTHER_REVIEWER)


def test_on_postgresql_a_narrowed_transaction_sees_only_its_departments_or_its_firms_applications(
        pg, store, policies, schema, tmp_path):
    facts, firms = _city(pg, store, policies, schema)
    a, b = firm(firms["eligible"]), firm(firms["unknown"])
    first = apps.start(pg.uow(), facts, CLAUSE, actor=a, today=TODAY)
    apps.submit(pg.uow(), facts, first.id, actor=a, **account())
    second = apps.start(pg.uow(), facts, CLAUSE, actor=b, today=TODAY)
    bank.upload(pg.uow(), tmp_path, actor=a, file_name="名册.pdf", content=PDF)

    def count(scope, table):
        with pg.uow() as uow:
            restrict(uow, scope)
            return uow.conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()

    assert count(Scope(department="hrss"), t.applications) == 2
    assert count(Scope(department="sti"), t.applications) == 0
    assert count(Scope(department="sti"), t.application_events) == 0
    assert count(Scope(uscc=b.uscc), t.applications) == 1 and count(Scope(uscc=b.uscc), t.materials) == 0
    assert count(Scope(uscc=a.uscc), t.materials) == 1
    assert [x.id for x in apps.applications_of(pg.uow(), actor=b)] == [second.id]


def test_a_not_more_than_amount_is_fixed_by_the_reviewer_within_the_ceiling(database, city, policies):
    """“不超过 X” (amount_is: ceiling, #14 point 2): the rules compute the most; the department fixes
    the figure on approval, never above it, with a reason when below; an exact clause's amount
    cannot be changed by review."""
    from zhida.rules.model.policy import parse_policy

    facts, firms = city
    exact_firm = firm(firms["unknown"])
    a = apps.start(database.uow(), facts, CLAUSE, actor=exact_firm, today=TODAY)
    apps.declare(database.uow(), facts, a.id, {DECLARED: "36000"}, actor=exact_firm)
    apps.submit(database.uow(), facts, a.id, actor=exact_firm, **account())
    with pytest.raises(apps.ApplicationError, match=r"金额由规则确定.*审核不能改动"):
        apps.decide(database.uow(), a.id, approve=True, actor=REVIEWER, amount_fen=100)

    original = next(p for p in policies if p.id == CLAUSE.split("/")[0])
    doc = original.spec.model_dump(mode="json", by_alias=True)
    for c in doc["clauses"]:
        c.update(mode="reviewed", amount_is="ceiling")
    publish(database.uow(), [parse_policy(doc, source="ceiling")], actor=SYSTEM)

    me = firm(firms["eligible"])
    b = apps.start(database.uow(), facts, CLAUSE, actor=me, today=TODAY)
    f = apps.form(database.uow(), facts, b.id, actor=me)
    most = f.result.amount_fen
    assert most and f"金额最高 {apps.yuan(most)} 元，由审核部门核定" in f.decision
    queued = apps.submit(database.uow(), facts, b.id, actor=me, **account())
    assert queued.state is ApplicationState.IN_REVIEW                   # verified data, yet reviewed
    with pytest.raises(apps.ApplicationError, match="须核定具体金额"):
        apps.decide(database.uow(), b.id, approve=True, actor=REVIEWER)
    with pytest.raises(apps.ApplicationError, match="不在 0 至上限"):
        apps.decide(database.uow(), b.id, approve=True, actor=REVIEWER, amount_fen=most + 1)
    with pytest.raises(apps.ApplicationError, match="须写明核定理由"):
        apps.decide(database.uow(), b.id, approve=True, actor=REVIEWER, amount_fen=most - 100)
    assert apps.get_application(database.uow(), b.id, actor=me).state is ApplicationState.IN_REVIEW  # nothing half-done
    done = apps.decide(database.uow(), b.id, approve=True, actor=REVIEWER, amount_fen=most - 100,
                       reason="按实际发放人数核定")
    assert done.state is ApplicationState.APPROVED and done.amount_fen == most - 100
    with database.uow() as uow:
        paid = uow.conn.execute(sa.select(t.offers.c.amount_fen).where(t.offers.c.id == done.offer_id)).scalar_one()
    assert paid == most - 100
    approve = [e["detail"] for e in apps.events_of(database.uow(), b.id, actor=me) if e["action"] == "approve"]
    assert approve == [{"reason": "按实际发放人数核定", "amount_fen": most - 100, "ceiling_fen": most}]
