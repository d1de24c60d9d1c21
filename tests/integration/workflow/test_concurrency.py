"""Concurrent clicks and concurrent batch builders on real PostgreSQL: one payment per offer,
never more money committed than the budget holds."""

from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from zhida.accounts import SYSTEM
from zhida.db import Database
from zhida.db import tables as t
from zhida.db.migrate import upgrade
from zhida.errors import ZhidaError
from zhida.matching.results import pack_cache_dir
from zhida.matching.run import run_match
from zhida.published import publish, published_pack
from zhida.rules.packcache import load_or_compile
from zhida.workflow import ledger
from zhida.workflow.offers import accept, create_offers, transition
from zhida.workflow.payments import fund_budget, schedule_payment
from zhida.workflow.states import OfferAction

from ...conftest import empty_engine
from ..matching.conftest import AS_OF
from .conftest import CLAUSE, FINANCE, REVIEWER, firm

POLICY = CLAUSE.split("/")[0]


@pytest.fixture
def pg(tmp_path):
    """PostgreSQL only: SQLite serialises writers, so it has no race to show."""
    gen = empty_engine("postgresql", tmp_path)
    engine = next(gen)
    upgrade(engine)
    yield Database(engine)
    gen.close()


@pytest.fixture
def confirmed(pg, setup, store, policies):
    publish(pg.uow(), policies, actor=SYSTEM)
    documents, mapping = published_pack(pg.uow())
    pack = load_or_compile(documents, setup.schema, AS_OF, pack_cache_dir(setup.data_dir))
    run = run_match(pg.uow(), setup, store, pack, AS_OF, published=mapping)
    offers = create_offers(pg.uow(), run, setup.data_dir, CLAUSE, department="hrss", actor=SYSTEM)
    for o in offers:
        for action in (OfferAction.APPROVE, OfferAction.START_NOTICE, OfferAction.CLOSE_NOTICE):
            transition(pg.uow(), o.id, action, actor=REVIEWER)
    return offers


def _attempt(fn):
    try:
        return fn()
    except ZhidaError as e:
        return e


def _count(pg, table, where=None):
    with pg.uow() as uow:
        q = sa.select(sa.func.count()).select_from(table)
        return uow.conn.execute(q if where is None else q.where(where)).scalar_one()


def test_fifty_concurrent_confirmations_and_payments_of_one_offer_make_exactly_one(pg, confirmed):
    offer = confirmed[0]
    who = firm(offer.uscc)
    with ThreadPoolExecutor(max_workers=10) as pool:
        accepted = list(pool.map(lambda _: _attempt(lambda: accept(
            pg.uow(), offer.id, actor=who, account_name="某公司", account_bank="温州银行", account_no="62220000",
            pledge=True)), range(50)))
    assert sum(not isinstance(r, Exception) for r in accepted) == 1
    fund_budget(pg.uow(), POLICY, 2024, offer.amount_fen * 10, actor=FINANCE)
    with ThreadPoolExecutor(max_workers=10) as pool:
        scheduled = list(pool.map(lambda _: _attempt(lambda: schedule_payment(pg.uow(), offer.id, actor=FINANCE)),
                                  range(50)))
    assert sum(not isinstance(r, Exception) for r in scheduled) == 1
    assert _count(pg, t.payments, t.payments.c.offer_id == offer.id) == 1
    assert _count(pg, t.offer_events, (t.offer_events.c.offer_id == offer.id)
                  & (t.offer_events.c.action == "accept")) == 1
    assert ledger.balance(pg.uow(), ledger.payable_account(POLICY, 2024)) == offer.amount_fen
    ledger.check_balanced(pg.uow())


def test_twenty_concurrent_batch_builders_on_one_budget_never_overspend(pg, confirmed):
    offers = confirmed[:20]
    assert len(offers) >= 10
    for o in offers:
        accept(pg.uow(), o.id, actor=firm(o.uscc), account_name="某公司", account_bank="温州银行",
               account_no="62220000", pledge=True)
    amounts = sorted(o.amount_fen for o in offers)
    budget = sum(amounts[: len(amounts) // 2])            # enough for about half of them
    fund_budget(pg.uow(), POLICY, 2024, budget, actor=FINANCE)
    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(lambda o: _attempt(lambda: schedule_payment(pg.uow(), o.id, actor=FINANCE)), offers))
    scheduled = [r for r in results if not isinstance(r, Exception)]
    assert scheduled and len(scheduled) < len(offers)
    committed = sum(p.amount_fen for p in scheduled)
    assert committed <= budget
    assert ledger.balance(pg.uow(), ledger.budget_account(POLICY, 2024)) == budget - committed >= 0
    with pg.uow() as uow:
        assert uow.conn.execute(sa.select(t.budgets.c.committed_fen)).scalar_one() == committed
    ledger.check_balanced(pg.uow())
