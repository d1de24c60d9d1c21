"""A one-off award pays once (#11 point 4), on SQLite and PostgreSQL: the ledger publishes what
was paid as the profile store's 已获资金 source, and the next year's match shows the paid firm
as not eligible for 温州 小巨人 (“首次认定…给予100万元”), with the reason. 小巨人 is 资格定补,
applied for and decided at once (即申即办): the firm applies, is paid, and cannot apply again."""

from datetime import UTC, date, datetime

import polars as pl
import pytest

from zhida.accounts import SYSTEM, NotAllowed, Role, User
from zhida.accounts.demo import DEPARTMENTS
from zhida.accounts.service import add_department
from zhida.matching.results import pack_cache_dir
from zhida.matching.run import population_frame, run_match, run_results
from zhida.packs.cache import load_or_compile
from zhida.profiles import received
from zhida.profiles.load import load_feed
from zhida.profiles.registry import load_registry
from zhida.published import publish, published_pack
from zhida.rules.explanation.explain import explain_frame
from zhida.rules.lang.frame import Requirements
from zhida.workflow import applications as apps
from zhida.workflow.offers import get_offer
from zhida.workflow.payments import fund_budget, schedule_payment, settle_payment
from zhida.workflow.received import publish_received
from zhida.workflow.states import ApplicationState

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


def apply_and_pay(database, facts, uscc, today, paid_at):
    """The firm applies (decided at once on verified data), finance pays its award."""
    me = firm(uscc)
    a = apps.start(database.uow(), facts, CLAUSE, actor=me, today=today)
    a = apps.submit(database.uow(), facts, a.id, actor=me, account_name="某某科技有限公司", account_bank="温州银行",
                    account_no="6222 0000 1234 5678", pledge=True)
    assert a.state is ApplicationState.APPROVED
    offer = get_offer(database.uow(), a.offer_id)
    fund_budget(database.uow(), POLICY, 2024, offer.amount_fen, actor=FINANCE)
    payment = schedule_payment(database.uow(), offer.id, actor=FINANCE)
    settle_payment(database.uow(), payment.idempotency_key, paid=True, actor=FINANCE, clock=paid_at)
    return offer


def test_after_the_award_is_paid_the_next_years_match_shows_the_firm_not_eligible_with_the_reason(
        database, setup, store, policies, little_giants):
    publish(database.uow(), policies, actor=SYSTEM)
    # the ledger is published before the first run (nothing paid yet): received(...) is false, not unknown
    first = publish_received(database.uow(), store, actor=FINANCE, clock=at(2024, 6, 1, 9))
    assert first.new and first.payments == 0
    _pack, run = match(database, setup, store, AS_OF)
    eligible = sorted(u for u, s in statuses(run, setup).items() if s == "eligible")
    assert eligible == little_giants

    with database.uow() as uow:
        for code, name in DEPARTMENTS:
            add_department(uow, code, name, actor=SYSTEM)
        uow.commit()
    facts = apps.ProfileFacts(store=store, schema=setup.schema, registry=load_registry(), zones_dir=ZONES)
    paid_offer = apply_and_pay(database, facts, eligible[0], AS_OF, at(2024, 8, 15, 2))      # 10:00 in 温州
    published = publish_received(database.uow(), store, actor=FINANCE, clock=at(2024, 8, 20, 1))
    assert published.new and published.payments == 1
    rows = received.read(store, published.batch).collect()
    assert rows.select("uscc", "clause", "period", "amount_fen", "paid_on").rows() == [
        (paid_offer.uscc, CLAUSE, "2024", paid_offer.amount_fen, date(2024, 8, 15))]

    pack, next_run = match(database, setup, store, NEXT_YEAR)
    after = statuses(next_run, setup)
    assert paid_offer.uscc not in after                                    # not eligible (nor unknown)
    assert {u: after.get(u) for u in eligible[1:]} == {u: "eligible" for u in eligible[1:]}  # the unpaid stay

    me = firm(paid_offer.uscc)
    again = apps.start(database.uow(), facts, CLAUSE, actor=me, today=NEXT_YEAR)    # a new year, a new application
    assert again.period == "2025"
    form = apps.form(database.uow(), facts, again.id, actor=me)
    assert form.result.status == "ineligible" and "已于 2024-08-15 获得" in form.decision
    with pytest.raises(apps.ApplicationError, match="暂不能提交"):                  # paid once
        apps.submit(database.uow(), facts, again.id, actor=me, account_name="某某科技有限公司",
                    account_bank="温州银行", account_no="6222000012345678", pledge=True)

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
