"""总量控制 and 就高不重复 across policies, as data: a payment over a firm's yearly cap is reduced to
what remains (or refused) and explained on the offer's event; of exclusive policies only the
highest is paid; on PostgreSQL, 20 concurrent schedulers never pay one firm more than its cap."""

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from zhida.accounts import SYSTEM, NotAllowed
from zhida.db import tables as t
from zhida.db.tables.jobs import cap_usage
from zhida.errors import ZhidaError
from zhida.matching.results import pack_cache_dir
from zhida.matching.run import run_match
from zhida.packs.cache import load_or_compile
from zhida.published import publish, published_pack
from zhida.workflow import ledger
from zhida.workflow.batches import prepare_batch
from zhida.workflow.caps import CapError, CapReached, define_cap, used
from zhida.workflow.offers import OfferError, events_of, get_offer
from zhida.workflow.payments import fund_budget, schedule_payment, settle_payment

from ..matching.conftest import AS_OF
from .conftest import FINANCE, REVIEWER

CITY, DISTRICT = "wz-2024-city-award", "wz-2024-district-award"
FIRM, OTHER = "91330300MA2CAP0001", "91330300MA2CAP0002"
YUAN = 100


def offer(db, run, policy: str, clause: str, uscc: str, yuan: int, period: str = "2024") -> int:
    """A confirmed offer, as the workflow leaves it before payment (made directly: the caps
    apply to any policy, and the demo city has one 免申即享 clause)."""
    at = datetime(2024, 9, 1, tzinfo=UTC)
    with db.uow() as uow:
        version = uow.conn.execute(sa.select(t.policy_versions.c.id).limit(1)).scalar_one()
        offer_id = uow.conn.execute(sa.insert(t.offers).values(
            clause=f"{policy}/{clause}", policy_id=policy, version_id=version, run_id=run.id, uscc=uscc,
            period=period, amount_fen=yuan * YUAN, department="hrss", state="confirmed", account_name="某公司",
            account_bank="温州银行", account_no="62220000", created_at=at, updated_at=at)
            .returning(t.offers.c.id)).scalar_one()
        uow.commit()
    return offer_id


def fund(db) -> None:
    for policy in (CITY, DISTRICT):
        fund_budget(db.uow(), policy, 2024, 10_000_000 * YUAN, actor=FINANCE)


def test_a_payment_over_the_cap_is_reduced_to_what_remains_explained_and_refused_when_nothing_remains(
        database, published_run):
    fund(database)
    cap = define_cap(database.uow(), "同类奖励", 2024, [CITY, DISTRICT], cap_fen=100_000 * YUAN, actor=FINANCE)
    assert cap.policies == (CITY, DISTRICT) and cap.cap_fen == 10_000_000
    city = offer(database, published_run, CITY, "first", FIRM, 60_000)
    district = offer(database, published_run, DISTRICT, "first", FIRM, 60_000)
    again = offer(database, published_run, CITY, "second", FIRM, 1_000)
    other = offer(database, published_run, DISTRICT, "first", OTHER, 60_000)
    last_year = offer(database, published_run, CITY, "first", FIRM, 60_000, period="2023")
    fund_budget(database.uow(), CITY, 2023, 60_000 * YUAN, actor=FINANCE)

    assert schedule_payment(database.uow(), city, actor=FINANCE).amount_fen == 60_000 * YUAN
    reduced = schedule_payment(database.uow(), district, actor=FINANCE)
    assert reduced.amount_fen == 40_000 * YUAN
    why = "按总量控制，2024年度同类奖励合计不超过 100000.00 元，已获 60000.00 元，本次拨付 40000.00 元"
    event = events_of(database.uow(), district, actor=SYSTEM)[-1]
    assert (event["action"], event["detail"]) == ("schedule", {"cap": [why], "amount_fen": 4_000_000})
    with pytest.raises(CapReached, match=r"已获 100000\.00 元，本次不予拨付"):
        schedule_payment(database.uow(), again, actor=FINANCE)
    assert schedule_payment(database.uow(), other, actor=FINANCE).amount_fen == 60_000 * YUAN   # another firm
    assert schedule_payment(database.uow(), last_year, actor=FINANCE).amount_fen == 60_000 * YUAN  # another year
    assert events_of(database.uow(), city, actor=SYSTEM)[-1]["detail"] is None                     # not reduced
    assert used(database.uow(), cap.id, FIRM) == 100_000 * YUAN

    settle_payment(database.uow(), reduced.idempotency_key, paid=False, reason="账户已销户", actor=FINANCE)
    assert used(database.uow(), cap.id, FIRM) == 60_000 * YUAN                                   # given back
    retried = schedule_payment(database.uow(), district, actor=FINANCE)
    assert retried.amount_fen == 40_000 * YUAN
    settle_payment(database.uow(), retried.idempotency_key, paid=True, actor=FINANCE)
    assert ledger.balance(database.uow(), ledger.paid_account(DISTRICT, 2024)) == 40_000 * YUAN
    ledger.check_balanced(database.uow())


def test_of_exclusive_policies_only_the_highest_is_paid_and_a_lower_one_paid_first_is_topped_up(
        database, published_run):
    fund(database)
    define_cap(database.uow(), "就高不重复：规上奖励", 2024, [CITY, DISTRICT], exclusive=True, actor=SYSTEM)
    low = offer(database, published_run, CITY, "first", FIRM, 30_000)
    high = offer(database, published_run, DISTRICT, "first", FIRM, 50_000)
    with pytest.raises(CapReached, match=f"只享受其中金额最高的一项（{DISTRICT}/first，50000.00 元）"):
        schedule_payment(database.uow(), low, actor=FINANCE)
    assert schedule_payment(database.uow(), high, actor=FINANCE).amount_fen == 50_000 * YUAN

    # equal awards: the smaller policy id wins, every time
    tie_city = offer(database, published_run, CITY, "first", OTHER, 20_000)
    tie_district = offer(database, published_run, DISTRICT, "first", OTHER, 20_000)
    with pytest.raises(CapReached, match=CITY):
        schedule_payment(database.uow(), tie_district, actor=FINANCE)
    assert schedule_payment(database.uow(), tie_city, actor=FINANCE).amount_fen == 20_000 * YUAN

    # the lower award was paid before the higher one existed: the higher pays only the difference
    third = "91330300MA2CAP0003"
    first = schedule_payment(database.uow(), offer(database, published_run, CITY, "first", third, 30_000),
                             actor=FINANCE)
    later = offer(database, published_run, DISTRICT, "first", third, 50_000)
    topped = schedule_payment(database.uow(), later, actor=FINANCE)
    assert (first.amount_fen, topped.amount_fen) == (30_000 * YUAN, 20_000 * YUAN)
    assert events_of(database.uow(), later, actor=SYSTEM)[-1]["detail"]["cap"] == [
        "按就高不重复，2024年度就高不重复：规上奖励合计不超过 50000.00 元，已获 30000.00 元，本次拨付 20000.00 元"]
    ledger.check_balanced(database.uow())


def test_a_cap_is_defined_by_finance_or_a_policy_officer_with_every_problem_named(database):
    with pytest.raises(NotAllowed, match="总量控制"):
        define_cap(database.uow(), "同类奖励", 2024, [CITY], cap_fen=100, actor=REVIEWER)
    with pytest.raises(CapError) as e:
        define_cap(database.uow(), " ", 2024, [], actor=FINANCE)
    assert all(p in str(e.value) for p in ("名称不能为空", "至少列出一项政策编号", "合计上限金额"))
    with pytest.raises(CapError, match="应为正数"):
        define_cap(database.uow(), "同类奖励", 2024, [CITY], cap_fen=0, actor=FINANCE)
    define_cap(database.uow(), "同类奖励", 2024, [CITY], cap_fen=100, actor=FINANCE)
    with pytest.raises(CapError, match="已有名为“同类奖励”"):
        define_cap(database.uow(), "同类奖励", 2024, [DISTRICT], cap_fen=100, actor=FINANCE)
    assert define_cap(database.uow(), "同类奖励", 2025, [CITY], cap_fen=100, actor=FINANCE).year == 2025


@pytest.fixture
def pg_run(pg, setup, store, policies):
    publish(pg.uow(), policies, actor=SYSTEM)
    documents, mapping = published_pack(pg.uow())
    pack = load_or_compile(documents, setup.schema, AS_OF, pack_cache_dir(setup.data_dir))
    return run_match(pg.uow(), setup, store, pack, AS_OF, published=mapping)


def test_twenty_concurrent_schedulers_never_pay_one_firm_more_than_its_cap_across_two_policies(pg, pg_run):
    fund(pg)
    cap = define_cap(pg.uow(), "同类奖励", 2024, [CITY, DISTRICT], cap_fen=55_000 * YUAN, actor=FINANCE)
    made = [offer(pg, pg_run, policy, f"award-{n}", FIRM, 10_000) for n in range(10) for policy in (CITY, DISTRICT)]

    def attempt(offer_id):
        try:
            return schedule_payment(pg.uow(), offer_id, actor=FINANCE)
        except ZhidaError as e:
            return e

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(attempt, made))
    paid = sorted(r.amount_fen for r in results if not isinstance(r, Exception))
    refused = [r for r in results if isinstance(r, Exception)]
    assert paid == [5_000 * YUAN] + [10_000 * YUAN] * 5
    assert len(refused) == 14 and all(isinstance(r, CapReached) for r in refused)
    with pg.uow() as uow:
        total = uow.conn.execute(sa.select(sa.func.sum(t.payments.c.amount_fen))).scalar_one()
        usage = uow.conn.execute(sa.select(cap_usage.c.used_fen)).scalars().all()
    assert total == usage[0] == 55_000 * YUAN and used(pg.uow(), cap.id, FIRM) == total
    assert sum(ledger.balance(pg.uow(), ledger.payable_account(p, 2024)) for p in (CITY, DISTRICT)) == total
    ledger.check_balanced(pg.uow())


def test_a_batch_pays_the_others_when_a_cap_refuses_one_firm_and_names_it(database, published_run):
    fund(database)
    cap = define_cap(database.uow(), "同类奖励", 2024, [CITY, DISTRICT], cap_fen=100_000 * YUAN, actor=FINANCE)
    first = offer(database, published_run, CITY, "first", FIRM, 100_000)
    assert schedule_payment(database.uow(), first, actor=FINANCE).amount_fen == 100_000 * YUAN    # the cap is used up
    capped = offer(database, published_run, DISTRICT, "first", FIRM, 60_000)
    free = offer(database, published_run, DISTRICT, "first", OTHER, 60_000)
    batch = prepare_batch(database.uow(), f"{DISTRICT}/first", 2024, actor=FINANCE)
    assert [p.offer_id for p in batch.payments] == [free] and batch.total_fen == 60_000 * YUAN
    assert list(batch.refused) == [capped] and "本次不予拨付" in batch.refused[capped]
    assert get_offer(database.uow(), capped).state.value == "confirmed"                     # left for later
    assert used(database.uow(), cap.id, FIRM) == 100_000 * YUAN                            # nothing counted twice
    ledger.check_balanced(database.uow())
    with pytest.raises(OfferError, match="都因资金上限不予拨付，批次未生成"):
        prepare_batch(database.uow(), f"{DISTRICT}/first", 2024, actor=FINANCE)
