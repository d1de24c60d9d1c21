"""A cap on what was already received (#11 point 4), on SQLite and PostgreSQL: a policy written
here (not in the pack) gives 温州 小巨人 a growth award of 80万元 a year, “与首次认定奖励累计不超过
150万元”, its cap written with received_amount(…). Before anything is paid every 小巨人 gets
80万; once the ledger has paid one of them the 100万 首次认定奖励 and published it, the next
match pays that firm only the remaining 50万 and tells why."""

import polars as pl

from zhida.accounts import SYSTEM
from zhida.accounts.demo import DEPARTMENTS
from zhida.accounts.service import add_department
from zhida.matching.run import population_frame, run_results
from zhida.profiles.registry import load_registry
from zhida.published import publish
from zhida.rules.explanation.explain import explain_frame
from zhida.rules.model.policy import parse_policy
from zhida.workflow import applications as apps
from zhida.workflow.received import publish_received

from ..matching.conftest import AS_OF, ZONES
from .conftest import FINANCE
from .test_received import CLAUSE, NEXT_YEAR, apply_and_pay, at, little_giants, match  # noqa: F401

GROWTH = "wenzhou-test-growth/growth"
CAPPED = {
    "id": "wenzhou-test-growth", "title": "温州市小巨人企业成长奖励（测试）", "issuer": "温州市人民政府",
    "document_number": "测试〔2024〕1号", "region": "330300", "source_url": "https://example.invalid/growth",
    "valid_from": "2024-01-01", "department": "温州市经济和信息化局",
    "clauses": [{
        "id": "growth", "title": "小巨人企业成长奖励每年80万元，与首次认定奖励累计不超过150万元", "mode": "exempt",
        "when": 'starts_with(district_code, "3303") and listed("专精特新小巨人")',
        "amount": "80万",
        "cap": f'max(150万 - received_amount("{CLAUSE}"), 0)',      # 累计不超过150万元
        "stackable": True,
    }],
}


def amounts(run, setup):
    """The run's eligible growth awards: uscc → fen."""
    res = run_results(run, setup.data_dir).filter((pl.col("clause") == GROWTH) & (pl.col("status") == "eligible"))
    return dict(res.select("uscc", "amount_fen").iter_rows())


def test_after_a_payment_a_cap_on_the_total_received_pays_only_the_remainder(
        database, setup, store, policies, little_giants):  # noqa: F811
    publish(database.uow(), [*policies, parse_policy(CAPPED, "wenzhou-test-growth.yaml")], actor=SYSTEM)
    publish_received(database.uow(), store, actor=FINANCE, clock=at(2024, 6, 1, 9))   # nothing paid yet
    _pack, run = match(database, setup, store, AS_OF)
    assert amounts(run, setup) == {u: 80_000_000 for u in little_giants}

    with database.uow() as uow:
        for code, name in DEPARTMENTS:
            add_department(uow, code, name, actor=SYSTEM)
        uow.commit()
    facts = apps.ProfileFacts(store=store, schema=setup.schema, registry=load_registry(), zones_dir=ZONES)
    paid = apply_and_pay(database, facts, little_giants[0], AS_OF, at(2024, 8, 15, 2))   # the 100万 首次认定奖励
    assert paid.amount_fen == 100_000_000
    publish_received(database.uow(), store, actor=FINANCE, clock=at(2024, 8, 20, 1))

    pack, next_run = match(database, setup, store, NEXT_YEAR)
    assert amounts(next_run, setup) == {little_giants[0]: 50_000_000,                  # 150万 - 100万 already paid
                                        **{u: 80_000_000 for u in little_giants[1:]}}

    one = population_frame(store, pack.requirements, NEXT_YEAR, setup.schema, ZONES, usccs=[paid.uscc])
    why = next(e for e in explain_frame(pack, one) if e.key == GROWTH)
    assert (why.status, why.amount_fen) == ("eligible", 50_000_000)
