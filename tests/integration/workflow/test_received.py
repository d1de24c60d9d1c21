"""A one-off award pays once (#11 point 4), on SQLite and PostgreSQL: the ledger publishes what
was paid as the profile store's 已获资金 source, and the next year's match shows the paid firm
as not eligible for 温州 小巨人 (“首次认定…给予100万元”), with the reason."""

from datetime import UTC, date, datetime

import polars as pl
import pytest

from zhida.accounts import SYSTEM, NotAllowed, Role, User
from zhida.matching.results import pack_cache_dir
from zhida.matching.run import population_frame, run_match, run_results
from zhida.profiles import received
from zhida.profiles.load import load_feed
from zhida.published import publish, published_pack
from zhida.rules.explain import explain_frame
from zhida.rules.frame import Requirements
from zhida.rules.packcache import load_or_compile
from zhida.workflow.offers import accept, create_offers, transition
from zhida.workflow.payments import fund_budget, schedule_payment, settle_payment
from zhida.workflow.received import publish_received
from zhida.workflow.states import OfferAction

from ..matching.conftest import AS_OF, ZONES
from .conftest import FINANCE, firm

CLAUSE = "wenzhou-2023-8-specialized/little-giant"
POLICY = CLAUSE.split("/")[0]
NEXT_YEAR = date(2025, 6, 30)
ECON = User(id=14, username="econ-reviewer", display_name="经信审核", roles=frozenset({Role.REVIEWER}),
            department="econ")


LITTLE_GIANTS = """source: econ
key: 代码
period: none
lists:
  - name_column: 称号
    names: {国家级专精特新“小巨人”企业: 专精特新小巨人}
    listed_on: {column: 公布日期, format: ["%Y-%m-%d"]}
"""


@pytest.fixture
def little_giants(store, setup, tmp_path):
    """经信 delivers a new 小巨人 list naming three young 温州 firms (not under 总量控制), first
    listed in 2024: the demo city of 400 firms has no 温州 小巨人 listed since 2023. Returns their codes."""
    req = Requirements(fields={("district_code", None), ("established_on", None)})
    firms = population_frame(store, req, AS_OF, setup.schema, ZONES)
    chosen = (firms.filter(pl.col("district_code").str.starts_with("3303")
                           & (pl.col("established_on") > date(2022, 7, 1))).sort("uscc").get_column("uscc")[:3])
    feed = tmp_path / "经信_小巨人名单.csv"
    feed.write_text("代码,称号,公布日期\n" + "".join(f"{u},国家级专精特新“小巨人”企业,2024-05-20\n" for u in chosen),
                    encoding="utf-8")
    mapping = tmp_path / "econ-little-giants.yaml"
    mapping.write_text(LITTLE_GIANTS, encoding="utf-8")
    load_feed(store, "econ", feed, mapping_path=mapping, known_on=AS_OF)   # the latest 小巨人 snapshot
    return sorted(chosen.to_list())


def at(*args: int):
    return lambda: datetime(*args, tzinfo=UTC)


def match(database, setup, store, as_of):
    documents, mapping = published_pack(database.uow())
    pack = load_or_compile(documents, setup.schema, as_of, pack_cache_dir(setup.data_dir))
    run = run_match(database.uow(), setup, store, pack, as_of, published=mapping)
    return pack, run


def statuses(run, setup):
    """The run's results for the 小巨人 clause: uscc → status (absent: ineligible)."""
    res = run_results(run, setup.data_dir).filter(pl.col("clause") == CLAUSE)
    return dict(res.select("uscc", "status").iter_rows())


def pay(database, offer, paid_at):
    uow = database.uow
    for action in (OfferAction.APPROVE, OfferAction.START_NOTICE, OfferAction.CLOSE_NOTICE):
        transition(uow(), offer.id, action, actor=ECON)
    accept(uow(), offer.id, actor=firm(offer.uscc), account_name="某某科技有限公司", account_bank="温州银行",
           account_no="6222 0000 1234 5678", pledge=True)
    fund_budget(uow(), POLICY, 2024, offer.amount_fen, actor=FINANCE)
    payment = schedule_payment(uow(), offer.id, actor=FINANCE)
    return settle_payment(uow(), payment.idempotency_key, paid=True, actor=FINANCE, clock=paid_at)


def test_after_the_award_is_paid_the_next_years_match_shows_the_firm_not_eligible_with_the_reason(
        database, setup, store, policies, little_giants):
    publish(database.uow(), policies, actor=SYSTEM)
    # the ledger is published before the first run (nothing paid yet): received(...) is false, not unknown
    first = publish_received(database.uow(), store, actor=FINANCE, clock=at(2024, 6, 1, 9))
    assert first.new and first.payments == 0
    _pack, run = match(database, setup, store, AS_OF)
    eligible = sorted(u for u, s in statuses(run, setup).items() if s == "eligible")
    assert eligible == little_giants

    offers = create_offers(database.uow(), run, setup.data_dir, CLAUSE, department="econ", actor=SYSTEM,
                           confirm_by=date(2024, 9, 30))
    paid_offer = next(o for o in offers if o.uscc == eligible[0])
    pay(database, paid_offer, at(2024, 8, 15, 2))       # 10:00 in 温州
    published = publish_received(database.uow(), store, actor=FINANCE, clock=at(2024, 8, 20, 1))
    assert published.new and published.payments == 1
    rows = received.read(store, published.batch).collect()
    assert rows.select("uscc", "clause", "period", "amount_fen", "paid_on").rows() == [
        (paid_offer.uscc, CLAUSE, "2024", paid_offer.amount_fen, date(2024, 8, 15))]

    pack, next_run = match(database, setup, store, NEXT_YEAR)
    after = statuses(next_run, setup)
    assert paid_offer.uscc not in after                                    # not eligible (nor unknown)
    assert {u: after.get(u) for u in eligible[1:]} == {u: "eligible" for u in eligible[1:]}  # the unpaid stay

    again = create_offers(database.uow(), next_run, setup.data_dir, CLAUSE, department="econ", actor=SYSTEM,
                          period="2025")
    assert sorted(o.uscc for o in again) == eligible[1:]                   # paid once: no 2025 offer for it

    everyone = population_frame(store, pack.requirements, NEXT_YEAR, setup.schema, ZONES)
    one = population_frame(store, pack.requirements, NEXT_YEAR, setup.schema, ZONES, usccs=[paid_offer.uscc])
    assert one.equals(everyone.filter(pl.col("uscc") == paid_offer.uscc))  # a few firms' frame: the same rows
    why = next(e for e in explain_frame(pack, one) if e.key == CLAUSE)
    assert paid_offer.amount_fen == 100_000_000                            # 100万元: a young firm, no cap
    assert why.status == "ineligible"
    assert why.reasons == [f"已于 2024-08-15 获得（{CLAUSE}，100万元）"]


def test_publishing_twice_without_a_new_payment_adds_nothing(database, store):
    first = publish_received(database.uow(), store, actor=FINANCE, clock=at(2024, 6, 1))
    again = publish_received(database.uow(), store, actor=FINANCE, clock=at(2024, 7, 1))
    assert not again.new and again.batch == first.batch
    assert [b.id for b in store.batches() if b.source == received.SOURCE] == [first.batch.id]


def test_before_any_publication_the_award_is_unknown_not_payable(database, setup, store, policies, little_giants):
    publish(database.uow(), policies, actor=SYSTEM)
    _pack, run = match(database, setup, store, AS_OF)
    assert statuses(run, setup) == {u: "unknown" for u in little_giants}


def test_only_finance_publishes_what_was_paid(database, store):
    with pytest.raises(NotAllowed):
        publish_received(database.uow(), store, actor=ECON)
