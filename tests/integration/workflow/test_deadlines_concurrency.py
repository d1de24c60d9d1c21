"""Job runners racing on PostgreSQL: reminders and expiry run by several workers at once still
send one reminder per offer and day and waive each offer once, without failing."""

from concurrent.futures import ThreadPoolExecutor
from datetime import date

import pytest
import sqlalchemy as sa

from zhida.accounts import SYSTEM
from zhida.db import tables as t
from zhida.matching.results import pack_cache_dir
from zhida.matching.run import run_match
from zhida.packs.cache import load_or_compile
from zhida.published import publish, published_pack
from zhida.workflow.deadlines import expire_overdue, send_reminders
from zhida.workflow.offers import create_offers, transition
from zhida.workflow.states import OfferAction

from ..matching.conftest import AS_OF
from .conftest import CLAUSE, REVIEWER

WORKERS = 8



@pytest.fixture
def awaiting(pg, setup, store, policies):
    publish(pg.uow(), policies, actor=SYSTEM)
    documents, mapping = published_pack(pg.uow())
    pack = load_or_compile(documents, setup.schema, AS_OF, pack_cache_dir(setup.data_dir))
    run = run_match(pg.uow(), setup, store, pack, AS_OF, published=mapping)
    offers = create_offers(pg.uow(), run, setup.data_dir, CLAUSE, department="hrss", actor=SYSTEM,
                           confirm_by=date(2024, 9, 30))
    for o in offers:
        for action in (OfferAction.APPROVE, OfferAction.START_NOTICE, OfferAction.CLOSE_NOTICE):
            transition(pg.uow(), o.id, action, actor=REVIEWER)
    return offers


def _count(pg, table):
    with pg.uow() as uow:
        return uow.conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def test_racing_runners_remind_once_per_offer_and_day_and_waive_once(pg, awaiting):
    with ThreadPoolExecutor(WORKERS) as ex:
        sent = list(ex.map(lambda _: send_reminders(pg.uow(), date(2024, 9, 29), actor=REVIEWER).sent,
                           range(WORKERS)))
    assert sorted(i for s in sent for i in s) == sorted(o.id for o in awaiting)
    assert _count(pg, t.offer_reminders) == _count(pg, t.notifications) == len(awaiting)

    with ThreadPoolExecutor(WORKERS) as ex:
        waived = list(ex.map(lambda _: expire_overdue(pg.uow(), date(2024, 10, 1), actor=REVIEWER), range(WORKERS)))
    assert sorted(i for w in waived for i in w) == sorted(o.id for o in awaiting)
    with pg.uow() as uow:
        events = uow.conn.execute(sa.select(sa.func.count()).select_from(t.offer_events)
                                  .where(t.offer_events.c.action == "expire")).scalar_one()
    assert events == len(awaiting)
