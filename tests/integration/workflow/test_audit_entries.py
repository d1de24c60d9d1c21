"""Every decision, transition, data use, payment and security event is one audit entry naming
its actor, on SQLite and PostgreSQL (issue #12 point 1): each offer transition, application
decision, batch step, enquiry step, payment, policy publication, budget funding, reviewer's read
of a material, and user, role and department change adds exactly one entry of its kind."""

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from zhida.accounts import SYSTEM, NotAllowed, Role, User
from zhida.accounts import service as accounts
from zhida.audit import log as audit_log
from zhida.db import tables as t
from zhida.published import publish
from zhida.workflow import applications as apps
from zhida.workflow import enquiries as enq
from zhida.workflow import materials as bank
from zhida.workflow.bankfiles import export_payment_file, import_results
from zhida.workflow.batches import approve_batch, prepare_batch, review
from zhida.workflow.offers import transition
from zhida.workflow.payments import fund_budget, schedule_payment, settle_payment
from zhida.workflow.states import OfferAction

from .conftest import CLAUSE, FINANCE, REVIEWER, firm
from .test_applications import CLAUSE as APPLIED_CLAUSE
from .test_applications import DECLARED, PDF, TODAY, account, city  # noqa: F401
from .test_batches import FINANCE2, POLICY, confirmed_offers
from .test_offers import _accept, _offers

A = OfferAction
ADMIN = User(id=30, username="admin", display_name="管理员", roles=frozenset({Role.ADMIN}))
OFFICER = User(id=31, username="officer", display_name="政策主管", roles=frozenset({Role.POLICY_OFFICER}))
ACCOUNT_NO = "6222000012345678"   # what _accept confirms


def _size(database):
    with database.uow() as uow:
        return int(uow.conn.execute(sa.select(t.audit_head.c.size)).scalar_one())


def logged(database, act):
    """`act()`'s result and the entries it appended, oldest first."""
    before = _size(database)
    result = act()
    new = [e for e in audit_log.entries(database.uow(), actor=SYSTEM, limit=100_000) if e.idx >= before]
    return result, sorted(new, key=lambda e: e.idx)


def kinds(entries):
    return [(e.kind, e.actor) for e in entries]


def one(database, act, kind, actor, subject=None):
    """`act()` appends exactly one entry, of `kind`, naming `actor` (and `subject`) — besides the
    `data.use` of a step that reads the firm's profile to decide (recorded by zhida.profiles)."""
    result, new = logged(database, act)
    new = [e for e in new if e.kind != "data.use"]
    assert kinds(new) == [(kind, actor)], kinds(new)
    if subject is not None:
        assert new[0].subject == subject
    return result, new[0]


def test_each_offer_transition_and_payment_is_one_entry_with_the_firm_and_the_amount(database, published_run, setup):
    uow = database.uow
    made, new = logged(database, lambda: _offers(database, published_run, setup))
    assert kinds(new) == [("offer.create", "system")] * len(made)
    assert {e.subject: (e.data["uscc"], e.data["amount_fen"]) for e in new} == {
        f"offer:{o.id}": (o.uscc, o.amount_fen) for o in made}
    o, dropped, *_ = made
    objector = firm(dropped.uscc)

    for act, kind, actor in [
        (lambda: transition(uow(), o.id, A.APPROVE, actor=REVIEWER), "offer.approve", "reviewer"),
        (lambda: transition(uow(), o.id, A.START_NOTICE, actor=REVIEWER), "offer.start_notice", "reviewer"),
        (lambda: transition(uow(), o.id, A.OBJECT, actor=objector, detail={"objection": "已停产"}),
         "offer.object", objector.username),
        (lambda: transition(uow(), o.id, A.DISMISS_OBJECTION, actor=REVIEWER, detail={"reason": "核实在产"}),
         "offer.dismiss_objection", "reviewer"),
        (lambda: transition(uow(), o.id, A.CLOSE_NOTICE, actor=REVIEWER), "offer.close_notice", "reviewer"),
        (lambda: _accept(database, o), "offer.accept", firm(o.uscc).username),
        (lambda: transition(uow(), dropped.id, A.EXCLUDE, actor=REVIEWER, detail={"reason": "重复享受"}),
         "offer.exclude", "reviewer"),
    ]:
        _, entry = one(database, act, kind, actor)
        assert entry.data["uscc"] in (o.uscc, dropped.uscc) and entry.data["amount_fen"] > 0
    assert ACCOUNT_NO not in str(entry.data)

    one(database, lambda: fund_budget(uow(), POLICY, 2024, o.amount_fen, actor=FINANCE), "budget.fund", "finance",
        f"budget:{POLICY}:2024")
    def carries(entry, payment, state):
        assert entry.data["payment"] == {"key": payment.idempotency_key, "amount_fen": o.amount_fen,
                                         "tranche": "full", "state": state}
        assert (entry.data["uscc"], entry.data["amount_fen"]) == (o.uscc, o.amount_fen)

    first, entry = one(database, lambda: schedule_payment(uow(), o.id, actor=FINANCE), "offer.schedule", "finance",
                       f"offer:{o.id}")
    carries(entry, first, "pending")
    _, entry = one(database, lambda: settle_payment(uow(), first.idempotency_key, paid=False, reason="账户已销户",
                                                    actor=FINANCE), "offer.fail", "finance")
    carries(entry, first, "failed")
    payment, entry = one(database, lambda: schedule_payment(uow(), o.id, actor=FINANCE), "offer.retry", "finance")
    carries(entry, payment, "pending")
    _, entry = one(database, lambda: settle_payment(uow(), payment.idempotency_key, paid=True, actor=FINANCE),
                   "offer.settle", "finance")
    carries(entry, payment, "paid")
    _, new = logged(database, lambda: settle_payment(uow(), payment.idempotency_key, paid=True, actor=FINANCE))
    assert new == []                                                       # the same result again: nothing


def test_a_department_review_is_one_entry_per_offer(database, published_run, setup):
    made = _offers(database, published_run, setup)
    keep, *rest = made
    _, new = logged(database, lambda: review(database.uow(), CLAUSE, actor=REVIEWER,
                                                    exclude={keep.uscc: "已享受同类补贴"}))
    assert Counter(kinds(new)) == {("offer.approve", "reviewer"): len(rest), ("offer.exclude", "reviewer"): 1}


def test_each_payment_batch_step_is_one_entry_and_the_payment_file_a_recorded_whole_view(database, published_run,
                                                                                         setup, tmp_path):
    confirmed = confirmed_offers(database, published_run, setup)
    total = sum(o.amount_fen for o in confirmed)
    one(database, lambda: fund_budget(database.uow(), POLICY, 2024, total, actor=FINANCE), "budget.fund", "finance")
    batch, new = logged(database, lambda: prepare_batch(database.uow(), CLAUSE, 2024, actor=FINANCE))
    assert Counter(kinds(new)) == {("offer.schedule", "finance"): len(confirmed),
                                   ("payment_batch.prepare", "finance"): 1}
    assert {e.data["payment"]["key"] for e in new if e.kind == "offer.schedule"} == {
        p.idempotency_key for p in batch.payments}
    one(database, lambda: approve_batch(database.uow(), batch.id, actor=FINANCE2), "payment_batch.approve",
        "finance2", f"payment_batch:{batch.id}")

    out, entry = one(database, lambda: export_payment_file(database.uow(), batch.id, tmp_path / "bank.csv",
                                                           actor=FINANCE),
                     "payment_batch.export", "finance", f"payment_batch:{batch.id}")
    assert ACCOUNT_NO in out.read_text(encoding="utf-8-sig")             # the file shows the number whole …
    assert (entry.data["rows"], entry.data["total_fen"], entry.data["whole"]) == (len(confirmed), total,
                                                                                  ["account_no"])
    assert entry.data["accounts"] >= 1
    with database.uow() as uow:                                          # … the log never does
        assert ACCOUNT_NO not in "".join(uow.conn.execute(sa.select(t.audit_log.c.entry)).scalars())

    result = tmp_path / "回单.csv"
    result.write_text("业务参考号,金额,结果,失败原因\n" + "".join(
        f"{p.idempotency_key},{p.amount_fen // 100}.{p.amount_fen % 100:02d},成功,\n" for p in batch.payments),
        encoding="utf-8")
    _, new = logged(database, lambda: import_results(database.uow(), result, actor=FINANCE))
    assert Counter(kinds(new)) == {("offer.settle", "finance"): len(confirmed), ("bank_result.import", "finance"): 1}
    imported = next(e for e in new if e.kind == "bank_result.import")
    assert (imported.data["paid"], imported.data["batches"], imported.data["file"]) == (len(confirmed), [batch.id],
                                                                                        "回单.csv")


def test_each_application_step_decision_and_material_read_is_one_entry(database, city, tmp_path):  # noqa: F811
    facts, firms = city
    me = firm(firms["unknown"])
    a, _ = one(database, lambda: apps.start(database.uow(), facts, APPLIED_CLAUSE, actor=me, today=TODAY),
               "application.start", me.username)
    one(database, lambda: apps.declare(database.uow(), facts, a.id, {DECLARED: "36000"}, actor=me),
        "application.declare", me.username, f"application:{a.id}")
    m, new = logged(database, lambda: bank.upload(database.uow(), tmp_path, actor=me, file_name="名册.pdf",
                                                  content=PDF))
    one(database, lambda: apps.attach(database.uow(), a.id, m.id, actor=me), "application.attach", me.username)
    one(database, lambda: apps.submit(database.uow(), facts, a.id, actor=me, **account()), "application.submit",
        me.username)
    _, entry = one(database, lambda: bank.read(database.uow(), tmp_path, m.id, actor=REVIEWER), "material.read",
                   "reviewer", f"enterprise:{me.uscc}")
    assert entry.data == {"material": m.id, "kind": m.kind, "sha256": m.sha256, "department": "hrss",
                          "purpose": "申报审核"}
    _, new = logged(database, lambda: bank.read(database.uow(), tmp_path, m.id, actor=me))
    assert new == []                                                     # the firm's own file: not a use of others'
    one(database, lambda: apps.decide(database.uow(), a.id, approve=False, actor=REVIEWER, reason="名册不符"),
        "application.reject", "reviewer")
    apps.submit(database.uow(), facts, a.id, actor=me, **account())
    approved, new = logged(database, lambda: apps.decide(database.uow(), a.id, approve=True, actor=REVIEWER))
    new = [e for e in new if e.kind != "data.use"]
    assert kinds(new) == [("application.approve", "reviewer"), ("offer.grant", "reviewer")]
    assert (new[1].subject, new[1].data["uscc"], new[1].data["amount_fen"]) == (
        f"offer:{approved.offer_id}", me.uscc, approved.amount_fen)


def test_each_enquiry_step_is_one_entry(database):
    from .test_enquiries import DEPARTMENTS

    for code, name in DEPARTMENTS:
        accounts.add_department(database.uow(), code, name, actor=SYSTEM)
    asker = firm("91330300MA2ENQ0001")
    t0 = datetime(2024, 9, 2, 9, 0, tzinfo=UTC)
    e, _ = one(database, lambda: enq.submit(database.uow(), actor=asker, text="扩岗补助申请后多久能到账？",
                                            clock=lambda: t0), "enquiry.submit", asker.username)
    one(database, lambda: enq.reply(database.uow(), e.id, "10 个工作日内。", actor=REVIEWER), "enquiry.reply",
        "reviewer", f"enquiry:{e.id}")
    one(database, lambda: enq.reopen(database.uow(), e.id, "仍未到账", actor=asker, clock=lambda: t0),
        "enquiry.reopen", asker.username)
    one(database, lambda: enq.escalate_overdue(database.uow(), t0 + timedelta(days=6), actor=SYSTEM),
        "enquiry.escalate", "system")
    one(database, lambda: enq.reply(database.uow(), e.id, "已到账。", actor=REVIEWER), "enquiry.reply", "reviewer")
    one(database, lambda: enq.close(database.uow(), e.id, rating=5, actor=asker), "enquiry.close", asker.username)


def test_publishing_a_policy_version_is_one_entry_per_version_put_in_force(database, policies):
    done, new = logged(database, lambda: publish(database.uow(), policies, actor=OFFICER))
    assert kinds(new) == [("policy.publish", "officer")] * len(policies) == [("policy.publish", "officer")] * len(
        done.published)
    by_subject = {e.subject: e.data for e in new}
    v = done.published[0]
    assert by_subject[f"policy:{v.policy_id}"] == {"version": v.id, "content_hash": v.content_hash,
                                                        "title": v.title, "replaces": None, "restored": False}
    _, new = logged(database, lambda: publish(database.uow(), policies, actor=OFFICER))
    assert new == []                                                     # nothing new in force: nothing logged


def test_user_role_and_department_changes_are_security_events(database):
    uow = database.uow
    one(database, lambda: accounts.add_department(uow(), "hrss", "人力资源和社会保障局", actor=ADMIN),
        "department.add", "admin", "department:hrss")
    _, entry = one(database, lambda: accounts.add_user(uow(), username="li", display_name="李", password=None,
                                                       roles=[Role.FINANCE], actor=ADMIN),
                   "account.add", "admin", "user:li")
    assert entry.data == {"roles": ["finance"], "uscc": None, "department": None, "password": False, "oidc": False}
    _, entry = one(database, lambda: accounts.grant(uow(), "li", Role.REVIEWER, department="hrss", actor=ADMIN),
                   "account.grant", "admin", "user:li")
    assert (entry.data["role"], entry.data["department"]) == ("reviewer", "hrss")
    one(database, lambda: accounts.revoke(uow(), "li", Role.FINANCE, actor=ADMIN), "account.revoke", "admin",
        "user:li")
    one(database, lambda: accounts.set_active(uow(), "li", False, actor=ADMIN), "account.deactivate", "admin")
    one(database, lambda: accounts.set_active(uow(), "li", True, actor=ADMIN), "account.activate", "admin")


def test_a_refused_change_leaves_no_entry(database):
    before = _size(database)
    with pytest.raises(NotAllowed):
        accounts.add_department(database.uow(), "hrss", "人社", actor=REVIEWER)
    with pytest.raises(NotAllowed):
        accounts.grant(database.uow(), "admin", Role.FINANCE, actor=ADMIN)
    assert _size(database) == before
