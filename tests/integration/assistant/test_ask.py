"""`ask` over the published set: a logged-in firm gets its own status and amount; the read of its
report is recorded as a data use; nothing published is an error that says what to do."""

import polars as pl
import pytest

from zhida.assistant.service import ask, published_index
from zhida.matching.run import run_results
from zhida.profiles.datause import uses_of_enterprise
from zhida.published import PublishError

from ..matching.conftest import AS_OF, ZONES
from ..workflow.conftest import firm

CLAUSE = "cn-hrss-2024-40-job-retention/refund-sme"


def test_a_logged_in_firm_gets_its_own_status_and_amount(database, published_run, setup, schema):
    results = run_results(published_run, setup.data_dir)
    eligible = results.filter((pl.col("clause") == CLAUSE) & (pl.col("status") == "eligible"))
    row = eligible.sort("uscc").row(0, named=True)
    a = ask(database.uow(), "稳岗补贴能返多少", today=AS_OF, actor=firm(row["uscc"]), schema=schema, zones_dir=ZONES)
    assert a.answered and a.citations[0].policy == "cn-hrss-2024-40-job-retention"
    assert a.firm is not None and a.firm.uscc == row["uscc"]
    item = next(i for i in a.firm.items if i.clause == CLAUSE)
    assert item.status == "符合" and item.amount_fen == row["amount_fen"]
    assert "贵企业" in a.text and "符合" in a.firm.text
    uses = uses_of_enterprise(database.uow(), row["uscc"])
    assert any(u.purpose == "企业查看本企业匹配报告" and u.actor == firm(row["uscc"]).username for u in uses)


def test_an_anonymous_question_reads_no_report(database, published_run, setup, schema):
    a = ask(database.uow(), "稳岗补贴能返多少", today=AS_OF, schema=schema, zones_dir=ZONES)
    assert a.answered and a.firm is None


def test_a_firm_asking_outside_the_pack_is_handed_off_without_reading_its_report(database, published_run, setup,
                                                                                   schema):
    uscc = run_results(published_run, setup.data_dir).get_column("uscc")[0]
    before = len(uses_of_enterprise(database.uow(), uscc))
    a = ask(database.uow(), "出口退税多久能到账", today=AS_OF, actor=firm(uscc), schema=schema, zones_dir=ZONES)
    assert a.handoff is not None and a.firm is None
    assert len(uses_of_enterprise(database.uow(), uscc)) == before


def test_a_firm_asking_before_any_match_run_gets_the_answer_without_its_status(database, policies, schema):
    from zhida.accounts import SYSTEM
    from zhida.published import publish

    publish(database.uow(), policies, actor=SYSTEM)
    a = ask(database.uow(), "稳岗补贴能返多少", today=AS_OF, actor=firm("91330300MA2AAAAA0X"), schema=schema,
            zones_dir=ZONES)
    assert a.answered and a.firm is None and "还没有匹配批次" in a.text


def test_the_index_follows_the_published_set(database):
    with pytest.raises(PublishError, match="zhida policy publish"):
        published_index(database.uow())
