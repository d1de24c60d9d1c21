"""Separation of duties beyond payment batches, on SQLite and PostgreSQL: nobody reviews the
offers they made themselves, and nobody rules on an objection they raised themselves."""

from datetime import date

import pytest

from zhida.accounts import NotAllowed, Role, User
from zhida.workflow.batches import review
from zhida.workflow.notices import raise_objection, resolve_objection, start_notice
from zhida.workflow.offers import DutiesNotSeparated, create_offers, get_offer, transition
from zhida.workflow.states import OfferAction, OfferState

from .conftest import CLAUSE, REVIEWER
from .test_offers import _offers

A, S = OfferAction, OfferState
# one person holding both the policy officer's role (runs the whitelist) and a reviewer's
MAKER = User(id=15, username="maker", display_name="政策兼审核", department="hrss",
             roles=frozenset({Role.REVIEWER, Role.POLICY_OFFICER}))
REVIEWER2 = User(id=16, username="reviewer2", display_name="人社复核", roles=frozenset({Role.REVIEWER}),
                 department="hrss")


def test_a_reviewer_cannot_review_the_offers_they_made(database, published_run, setup):
    made = create_offers(database.uow(), published_run, setup.data_dir, CLAUSE, department="hrss", actor=MAKER)
    with pytest.raises(DutiesNotSeparated, match="由 maker 生成，生成人不能审核自己生成的事项"):
        review(database.uow(), CLAUSE, actor=MAKER)
    with pytest.raises(DutiesNotSeparated, match="另一位审核人员"):
        transition(database.uow(), made[0].id, A.APPROVE, actor=MAKER)
    with pytest.raises(NotAllowed):          # a kind of NotAllowed: the entrypoints' translators know it
        transition(database.uow(), made[0].id, A.EXCLUDE, actor=MAKER, detail={"reason": "重复享受"})
    assert all(get_offer(database.uow(), o.id).state is S.PENDING_REVIEW for o in made)   # nothing changed
    assert len(review(database.uow(), CLAUSE, actor=REVIEWER).approved) == len(made)


def test_offers_made_by_someone_else_are_reviewed_as_before(database, published_run, setup):
    made = _offers(database, published_run, setup)                     # made by the local operator
    assert review(database.uow(), CLAUSE, actor=MAKER).approved == [o.id for o in sorted(made, key=lambda o: o.uscc)]


def test_nobody_rules_on_an_objection_they_raised(database, published_run, setup):
    made = _offers(database, published_run, setup)
    review(database.uow(), CLAUSE, actor=REVIEWER)
    start_notice(database.uow(), CLAUSE, start=date(2024, 9, 2), days=5, actor=REVIEWER)
    target, other, *_ = made
    raise_objection(database.uow(), target.id, "该企业已停产", actor=REVIEWER)
    with pytest.raises(DutiesNotSeparated, match="异议由 reviewer 提出，提出人不能处理自己的异议"):
        resolve_objection(database.uow(), target.id, uphold=True, reason="核实停产", actor=REVIEWER)
    with pytest.raises(DutiesNotSeparated):
        transition(database.uow(), target.id, A.DISMISS_OBJECTION, actor=REVIEWER)
    assert get_offer(database.uow(), target.id).state is S.OBJECTED
    ruled = resolve_objection(database.uow(), target.id, uphold=True, reason="核实停产", actor=REVIEWER2)
    assert ruled.outcome == "upheld" and get_offer(database.uow(), target.id).state is S.EXCLUDED

    raise_objection(database.uow(), other.id, "名单有误", actor=REVIEWER2)   # raised by another: REVIEWER rules
    assert resolve_objection(database.uow(), other.id, uphold=False, reason="核实无误", actor=REVIEWER).outcome == \
        "dismissed"
