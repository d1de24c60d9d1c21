"""Department scoping: a reviewer lists only its department's offers through the services (both
backends), and on PostgreSQL a transaction narrowed to a department returns nothing foreign
even to a raw query that forgets the filter (row-level security)."""

import pytest
import sqlalchemy as sa

from zhida.accounts import SYSTEM, NotAllowed, Role, User
from zhida.db import tables as t
from zhida.db.scope import Scope, restrict
from zhida.matching.results import pack_cache_dir
from zhida.matching.run import run_match
from zhida.packs.cache import load_or_compile
from zhida.published import publish, published_pack
from zhida.workflow.offers import create_offers, events_of, offers_of_clause, view_offer

from ..matching.conftest import AS_OF
from .conftest import CLAUSE, OTHER_REVIEWER, REVIEWER, firm

LEADER = User(id=14, username="leader", display_name="领导", roles=frozenset({Role.LEADER}))
OTHER_CLAUSE = "cn-hrss-2024-40-job-retention/refund-large"


def _two_departments(db, setup, store, policies):
    publish(db.uow(), policies, actor=SYSTEM)
    documents, mapping = published_pack(db.uow())
    pack = load_or_compile(documents, setup.schema, AS_OF, pack_cache_dir(setup.data_dir))
    run = run_match(db.uow(), setup, store, pack, AS_OF, published=mapping)
    hrss = create_offers(db.uow(), run, setup.data_dir, CLAUSE, department="hrss", actor=SYSTEM)
    sti = create_offers(db.uow(), run, setup.data_dir, CLAUSE, department="sti", actor=SYSTEM, period="2023")
    assert hrss and sti
    return hrss, sti


def test_a_reviewer_lists_only_its_own_departments_offers(database, setup, store, policies):
    hrss, sti = _two_departments(database, setup, store, policies)
    assert {o.id for o in offers_of_clause(database.uow(), CLAUSE, actor=REVIEWER)} == {o.id for o in hrss}
    assert {o.id for o in offers_of_clause(database.uow(), CLAUSE, actor=OTHER_REVIEWER)} == {o.id for o in sti}
    assert len(offers_of_clause(database.uow(), CLAUSE, actor=LEADER)) == len(hrss) + len(sti)
    with pytest.raises(NotAllowed):
        offers_of_clause(database.uow(), CLAUSE, actor=firm(hrss[0].uscc))



def _count(db, scope, table=t.offers):
    with db.uow() as uow:
        restrict(uow, scope)
        return uow.conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def test_a_reviewer_opens_only_its_own_departments_offers_and_a_firm_only_its_own(database, setup, store, policies):
    hrss, sti = _two_departments(database, setup, store, policies)
    stranger = firm(next(o.uscc for o in hrss if o.uscc != hrss[0].uscc))
    assert view_offer(database.uow(), hrss[0].id, actor=REVIEWER) == hrss[0]
    assert [e["action"] for e in events_of(database.uow(), hrss[0].id, actor=REVIEWER)] == ["create"]
    for read in (view_offer, events_of):
        with pytest.raises(NotAllowed, match="由部门 sti 办理"):
            read(database.uow(), sti[0].id, actor=REVIEWER)
        with pytest.raises(NotAllowed, match="只能查看本企业"):
            read(database.uow(), hrss[0].id, actor=stranger)
    assert view_offer(database.uow(), hrss[0].id, actor=firm(hrss[0].uscc)).id == hrss[0].id
    assert view_offer(database.uow(), sti[0].id, actor=LEADER).id == sti[0].id


def test_on_postgresql_a_narrowed_transaction_sees_nothing_foreign_even_unfiltered(pg, setup, store, policies):
    hrss, sti = _two_departments(pg, setup, store, policies)
    assert _count(pg, Scope(department="hrss")) == len(hrss)
    assert _count(pg, Scope(department="sti")) == len(sti)
    assert _count(pg, Scope(department="tax")) == 0
    assert _count(pg, Scope(everything=True)) == len(hrss) + len(sti)
    assert _count(pg, Scope(uscc=hrss[0].uscc)) == 2                  # the firm's offer in each department
    hrss_events = _count(pg, Scope(department="hrss"), t.offer_events)
    assert hrss_events == len(hrss)                                   # one `create` event each, no foreign ones
    with pg.uow() as uow:                                             # and it cannot write a foreign row either
        restrict(uow, Scope(department="hrss"))
        moved = uow.conn.execute(sa.update(t.offers).where(t.offers.c.department == "sti")
                                 .values(state="excluded")).rowcount
        assert moved == 0
    with pg.uow() as uow:                                             # the scope ends with its transaction
        assert uow.conn.execute(sa.select(sa.func.count()).select_from(t.offers)).scalar_one() == len(hrss) + len(sti)
