"""The match report of one enterprise: sections, explanations, suppliers of missing facts, data use."""

import polars as pl
import pytest

from zhida.accounts import NotAllowed, Role, User
from zhida.matching.errors import EnterpriseNotFound
from zhida.matching.report import enterprise_report
from zhida.matching.run import run_match, run_results
from zhida.profiles.datause import uses_of_enterprise

from .conftest import AS_OF

OFFICER = User(id=1, username="officer1", display_name="数据局", roles=frozenset({Role.DATA_OFFICER}))


def firm(uscc):
    return User(id=2, username="firm", display_name="企业", roles=frozenset({Role.ENTERPRISE}), uscc=uscc)


@pytest.fixture
def results(store, policies, uow, setup, data_dir):
    return run_results(run_match(uow, setup, store, policies, AS_OF), data_dir)


def _richest(results):
    """An enterprise with results in as many statuses as possible."""
    return (results.group_by("uscc").agg(n=pl.col("status").n_unique(), k=pl.len())
            .sort(["n", "k", "uscc"], descending=[True, True, False]).get_column("uscc")[0])


def test_report_sections_agree_with_the_run_and_carry_explanations(store, policies, schema, results, uow):
    uscc = _richest(results)
    rep = enterprise_report(uow, store, policies, schema, AS_OF, uscc, actor=OFFICER)
    mine = {r["clause"]: r for r in results.filter(pl.col("uscc") == uscc).iter_rows(named=True)}
    listed = {i.clause: i for s in (rep.eligible, rep.report_only) for i in s}
    assert listed.keys() == {k for k, r in mine.items() if r["status"] == "eligible"}
    assert all(listed[k].amount_fen == mine[k]["amount_fen"] for k in listed)
    assert {i.clause for i in rep.possibly_eligible} == {k for k, r in mine.items() if r["status"] == "unknown"}
    assert {i.clause for i in rep.near_misses} == {k for k, r in mine.items() if r["status"] == "near_miss"}
    assert all(i.mode == "report_only" for i in rep.report_only)
    assert all(i.mode != "report_only" for i in rep.eligible)
    for section in (rep.eligible, rep.possibly_eligible, rep.near_misses, rep.report_only):
        amounts = [i.amount_fen for i in section if i.amount_fen is not None]
        assert amounts == sorted(amounts, reverse=True)
        for item in section:
            assert item.explanation.key == item.clause and item.explanation.atoms
    for item in rep.possibly_eligible:
        assert item.missing and all(s.by for s in item.missing)
    for item in rep.near_misses:
        assert item.would_qualify_if and sum(a.verdict is False for a in item.explanation.atoms) == 1
    doc = rep.to_dict()
    assert set(doc) >= {"eligible", "possibly_eligible", "near_misses", "report_only"}


def test_missing_facts_name_the_department_that_supplies_them(store, policies, schema, results, uow):
    uscc = results.filter(pl.col("status") == "unknown").sort("uscc").get_column("uscc")[0]
    rep = enterprise_report(uow, store, policies, schema, AS_OF, uscc, actor=OFFICER)
    suppliers = [by for i in rep.possibly_eligible for s in i.missing for by in s.by]
    assert any("局" in by or "自行申报" in by or "计算" in by for by in suppliers)


def test_a_report_records_the_data_use_and_an_unknown_enterprise_is_refused(store, policies, schema, results, uow):
    uscc = results.get_column("uscc")[0]
    enterprise_report(uow, store, policies, schema, AS_OF, uscc, actor=OFFICER, purpose="企业咨询答复")
    use, population = sorted(uses_of_enterprise(uow, uscc), key=lambda u: u.scope)  # enterprise < population
    assert population.scope == "population" and population.purpose == "全量政策匹配"
    assert use.uscc == uscc and use.purpose == "企业咨询答复" and use.actor == "officer1" and use.fields
    with pytest.raises(EnterpriseNotFound, match="91330300MA00000000"):
        enterprise_report(uow, store, policies, schema, AS_OF, "91330300MA00000000", actor=OFFICER)
    assert [u.scope for u in uses_of_enterprise(uow, "91330300MA00000000")] == ["population"]  # no report use


def test_a_cached_report_is_the_same_report_and_every_view_is_still_recorded(store, policies, schema, results, uow):
    from zhida.matching.report import ReportCache

    uscc, cache = _richest(results), ReportCache(size=1)
    first = enterprise_report(uow, store, policies, schema, AS_OF, uscc, actor=firm(uscc), cache=cache)
    again = enterprise_report(uow, store, policies, schema, AS_OF, uscc, actor=firm(uscc), cache=cache)
    assert again is first and again.to_dict() == enterprise_report(uow, store, policies, schema, AS_OF, uscc,
                                                                   actor=firm(uscc)).to_dict()
    some = [p for p in policies if p.id == "cn-hrss-2024-40-job-retention"]
    fewer = enterprise_report(uow, store, some, schema, AS_OF, uscc, actor=firm(uscc), cache=cache)
    assert fewer is not first                       # other policy versions: another report (and size 1 evicts)
    assert enterprise_report(uow, store, policies, schema, AS_OF, uscc, actor=firm(uscc), cache=cache) is not first
    views = [u for u in uses_of_enterprise(uow, uscc) if u.scope == "enterprise"]
    assert len(views) == 5


def test_a_firm_reads_only_its_own_report(store, policies, schema, results, uow):
    uscc = _richest(results)
    other = next(u for u in results["uscc"].unique().sort().to_list() if u != uscc)
    with pytest.raises(NotAllowed, match="不能查看或办理企业"):
        enterprise_report(uow, store, policies, schema, AS_OF, uscc, actor=firm(other))
    assert [u for u in uses_of_enterprise(uow, uscc) if u.scope == "enterprise"] == []     # nothing was read
