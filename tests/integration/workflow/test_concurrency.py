"""Concurrent clicks and concurrent batch builders on real PostgreSQL: one payment per offer,
never more money committed than the budget holds."""

from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from zhida.accounts import SYSTEM
from zhida.db import Database
from zhida.db import tables as t
from zhida.errors import ZhidaError
from zhida.matching.results import pack_cache_dir
from zhida.matching.run import run_match
from zhida.packs.cache import load_or_compile
from zhida.published import publish, published_pack
from zhida.workflow import ledger
from zhida.workflow.offers import accept, create_offers, transition
from zhida.workflow.payments import fund_budget, schedule_payment
from zhida.workflow.states import OfferAction

from ..matching.conftest import AS_OF
from .conftest import CLAUSE, FINANCE, REVIEWER, firm, offers_like

POLICY = CLAUSE.split("/")[0]



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


def test_fifty_concurrent_confirmations_for_each_of_two_hundred_firms_make_exactly_one_payment_each(pg, confirmed):
    """200 firms' offers awaiting confirmation; for each firm 50 clicks at once, each click
    confirming and then asking for payment, all 10,000 interleaved on 12 connections."""
    import random

    ids, rows = offers_like(pg, confirmed[0].id, "91330300MA2X", [100_000 + n for n in range(200)])
    fund_budget(pg.uow(), POLICY, 2024, sum(r["amount_fen"] for r in rows), actor=FINANCE)
    by_id = dict(zip(ids, (r["uscc"] for r in rows), strict=True))

    def click(offer_id):
        who = firm(by_id[offer_id])
        _attempt(lambda: accept(pg.uow(), offer_id, actor=who, account_name="某公司", account_bank="温州银行",
                                account_no="62220000", pledge=True))
        return _attempt(lambda: schedule_payment(pg.uow(), offer_id, actor=FINANCE))

    clicks = [i for i in ids for _ in range(50)]
    random.Random(11).shuffle(clicks)
    with ThreadPoolExecutor(max_workers=12) as pool:
        outcomes = list(pool.map(click, clicks))
    assert sum(not isinstance(o, Exception) for o in outcomes) == 200          # one scheduled payment per firm
    assert pg.engine.pool.checkedout() == 0                                    # no connection left behind
    with pg.uow() as uow:
        per_offer = dict(uow.conn.execute(sa.select(t.payments.c.offer_id, sa.func.count())
                                          .where(t.payments.c.offer_id.in_(ids))
                                          .group_by(t.payments.c.offer_id)).all())
        accepts = uow.conn.execute(sa.select(sa.func.count()).select_from(t.offer_events).where(
            t.offer_events.c.offer_id.in_(ids) & (t.offer_events.c.action == "accept"))).scalar_one()
    assert per_offer == {i: 1 for i in ids} and accepts == 200
    assert ledger.balance(pg.uow(), ledger.payable_account(POLICY, 2024)) == sum(r["amount_fen"] for r in rows)
    ledger.check_balanced(pg.uow())


def test_connections_killed_by_the_server_during_twenty_decisions_lose_no_acknowledged_one(pg, confirmed):
    """20 firms confirm at once while another session keeps terminating their connections
    (pg_terminate_backend, as a database restart would): a confirmation that returned is in the
    store; one cut off is either wholly there (the retry finds it done) or wholly absent (the
    retry makes it) — never half, never twice."""
    import random
    import threading
    import time

    from zhida.db import create_engine

    from ...conftest import POSTGRES_URL
    with pg.uow() as uow:
        schema = uow.conn.execute(sa.text("SELECT current_schema()")).scalar_one()
    ids, rows = offers_like(pg, confirmed[0].id, "91330300MA2K", [100_000] * 20)
    app = f"zhida-kill-{schema}"
    # One pooled connection per worker: a worker never waits for another's connection (with fewer,
    # retrying workers can barge ahead of a waiting one for the pool's whole 30 s timeout on a slow
    # machine, which is starvation in the test's client, not a property of the store).
    victim = Database(create_engine(POSTGRES_URL, pool_size=20, max_overflow=0,
                                    connect_args={"options": f"-csearch_path={schema}", "application_name": app}))
    acknowledged: set[int] = set()
    cut_off = 0
    stop = threading.Event()

    def killer():
        # Kills for at most 3 s (a database restarting, not one that never comes back), so the
        # decisions finish on any machine however slow its reconnects are.
        admin = sa.create_engine(POSTGRES_URL)
        rng = random.Random(3)
        until = time.monotonic() + 3
        while not stop.is_set() and time.monotonic() < until:
            time.sleep(rng.uniform(0.002, 0.02))
            with admin.begin() as conn:
                conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                     "WHERE application_name = :app AND pid <> pg_backend_pid()"), {"app": app})
        admin.dispose()

    def decide(offer_id, uscc):
        nonlocal cut_off
        while True:
            try:
                accept(victim.uow(), offer_id, actor=firm(uscc), account_name="某公司", account_bank="温州银行",
                       account_no="62220000", pledge=True)
                acknowledged.add(offer_id)
                return
            except ZhidaError:                 # the cut-off attempt had committed: it is done, not twice
                return
            except sa.exc.DBAPIError:          # cut off before an answer: try again, as a client would
                cut_off += 1

    k = threading.Thread(target=killer)
    k.start()
    try:
        with ThreadPoolExecutor(max_workers=20) as pool:
            list(pool.map(decide, ids, [r["uscc"] for r in rows]))
    finally:
        stop.set()
        k.join()
        victim.engine.dispose()
    assert cut_off > 0, "the killer never hit a decision: the test proved nothing"
    with pg.uow() as uow:
        states = dict(uow.conn.execute(sa.select(t.offers.c.id, t.offers.c.state).where(t.offers.c.id.in_(ids))).all())
        accepts = dict(uow.conn.execute(sa.select(t.offer_events.c.offer_id, sa.func.count())
                                        .where(t.offer_events.c.offer_id.in_(ids))
                                        .where(t.offer_events.c.action == "accept")
                                        .group_by(t.offer_events.c.offer_id)).all())
    assert all(states[i] == "confirmed" for i in acknowledged)            # nothing acknowledged is lost
    assert states == {i: "confirmed" for i in ids} and accepts == {i: 1 for i in ids}   # none half, none twice


def test_twenty_concurrent_prepare_batch_calls_on_one_budget_batch_exactly_the_budgets_worth_once(pg, confirmed):
    """20 finance clerks press 编制拨付批次 for the same clause at the same instant, each on its own
    connection: with the budget one fen short none of them batches anything; with exactly enough,
    one batch holds every offer, each offer has one payment, and not a fen more is committed."""
    import threading

    from zhida.db import create_engine
    from zhida.workflow.batches import prepare_batch

    from ...conftest import POSTGRES_URL
    for o in confirmed:
        accept(pg.uow(), o.id, actor=firm(o.uscc), account_name="某公司", account_bank="温州银行",
               account_no="62220000", pledge=True)
    total = sum(o.amount_fen for o in confirmed)
    with pg.uow() as uow:
        schema = uow.conn.execute(sa.text("SELECT current_schema()")).scalar_one()
    clerks = Database(create_engine(POSTGRES_URL, pool_size=20, max_overflow=0,
                                    connect_args={"options": f"-csearch_path={schema}"}))

    def twenty_at_once():
        start = threading.Barrier(20)

        def press(_):
            start.wait()
            return _attempt(lambda: prepare_batch(clerks.uow(), CLAUSE, 2024, actor=FINANCE))
        with ThreadPoolExecutor(max_workers=20) as pool:
            return list(pool.map(press, range(20)))

    try:
        fund_budget(pg.uow(), POLICY, 2024, total - 1, actor=FINANCE)
        short = twenty_at_once()
        assert all(isinstance(r, ZhidaError) for r in short) and any("预算不足" in str(r) for r in short)
        assert _count(pg, t.payments) == 0 and _count(pg, t.payment_batches) == 0

        fund_budget(pg.uow(), POLICY, 2024, 1, actor=FINANCE)
        enough = twenty_at_once()
    finally:
        clerks.engine.dispose()
    batches = [r for r in enough if not isinstance(r, Exception)]
    assert len(batches) == 1, [str(r) for r in enough if isinstance(r, Exception)]
    assert all(isinstance(r, ZhidaError) for r in enough if isinstance(r, Exception))   # refused, not crashed
    (batch,) = batches
    assert batch.total_fen == total and {p.offer_id for p in batch.payments} == {o.id for o in confirmed}
    with pg.uow() as uow:
        per_offer = dict(uow.conn.execute(sa.select(t.payments.c.offer_id, sa.func.count())
                                          .group_by(t.payments.c.offer_id)).all())
        funded, committed = uow.conn.execute(sa.select(t.budgets.c.funded_fen, t.budgets.c.committed_fen)).one()
    assert per_offer == {o.id: 1 for o in confirmed}                        # no payment twice
    assert funded == committed == total                                     # the budget's worth, no more
    assert _count(pg, t.payment_batches) == 1
    assert ledger.balance(pg.uow(), ledger.budget_account(POLICY, 2024)) == 0
    assert ledger.balance(pg.uow(), ledger.payable_account(POLICY, 2024)) == total
    ledger.check_balanced(pg.uow())
