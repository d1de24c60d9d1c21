"""Incremental re-matching equals a full re-run; changes become outbox events."""

import dataclasses
from datetime import UTC, datetime

import polars as pl
import sqlalchemy as sa

from zhida.db import tables as t
from zhida.matching.incremental import current_results, publish_policy, rematch_enterprises
from zhida.matching.outbox import events_of_enterprise, mark_delivered, pending_events
from zhida.matching.run import run_match, run_results
from zhida.profiles.load import load_feed
from zhida.rules.model.policy import parse_policy

from .conftest import AS_OF

TAX_FEED = "税务_企业所得税年度申报.csv"


def _redeliver(city_store, store, out, usccs, change):
    """Load a corrected tax feed holding only some enterprises' rows, changed by `change`."""
    lines = (city_store.root.parent / TAX_FEED).read_bytes().decode("gbk").splitlines()
    rows = [change(line) for line in lines[1:] if line.split(",")[1] in usccs]
    out.write_bytes(("\n".join([lines[0], *rows]) + "\n").encode("gbk"))
    load_feed(store, "tax", out, mapping_name="tax", known_on=AS_OF)


def _stored_scope(uow, update_id):
    """The update's stored enterprises (SQL NULL: every enterprise) as (is NULL, value)."""
    u = t.match_updates
    with uow:
        return uow.conn.execute(sa.select(u.c.enterprises.is_(None), u.c.enterprises)
                                .where(u.c.id == update_id)).one()


def _negate_taxable_income(line):
    cells = line.split(",")
    cells[5] = "-1000.00"  # 应纳税所得额: a loss
    return ",".join(cells)


def test_new_facts_for_enterprises_rematch_only_them_and_equal_a_full_rerun(
        store, city_store, policies, schema, uow, setup, data_dir):
    run = run_match(uow, setup, store, policies, AS_OF)
    before = run_results(run, data_dir)
    relief = "cn-mof-sat-2023-12-small-low-profit/income-tax-relief"
    losers = (before.filter((pl.col("clause") == relief) & (pl.col("status") == "eligible"))
              .get_column("uscc").head(3).to_list())
    assert losers
    _redeliver(city_store, store, data_dir / "tax-fix.csv", set(losers), _negate_taxable_income)

    later = dataclasses.replace(setup, clock=lambda: datetime(2024, 7, 1, tzinfo=UTC))
    update = rematch_enterprises(uow, later, run, store, losers, fields=["taxable_income"])
    assert update.enterprises == tuple(losers)
    assert tuple(_stored_scope(uow, update.id)) == (False, losers)
    assert relief in update.clauses and len(update.clauses) < run.clauses  # only clauses reading the field
    full = run_match(uow, setup, store, policies, AS_OF)
    assert current_results(uow, run, data_dir).equals(run_results(full, data_dir))

    events = pending_events(uow)
    assert {(e.uscc, e.clause, e.kind) for e in events} >= {(u, relief, "no_longer_eligible") for u in losers}
    assert all(e.uscc in losers and e.update_id == update.id for e in events)


def test_rematching_without_changes_writes_no_events(store, policies, schema, uow, setup, data_dir):
    run = run_match(uow, setup, store, policies, AS_OF)
    some = run_results(run, data_dir).get_column("uscc").unique().sort().head(5).to_list()
    update = rematch_enterprises(uow, setup, run, store, some)
    assert update.events.is_empty() and pending_events(uow) == []
    assert current_results(uow, run, data_dir).equals(run_results(run, data_dir))


def test_publishing_a_policy_version_rematches_its_clauses_and_equals_a_full_rerun(
        store, policies, schema, uow, setup, data_dir):
    run = run_match(uow, setup, store, policies, AS_OF)
    old = next(p for p in policies if p.id == "cn-mof-sat-2023-12-small-low-profit")
    doc = old.spec.model_dump(mode="json")
    clause = doc["clauses"][0]
    clause["when"] = f"({clause['when']}\n) and employees[last_year] >= 20"  # stricter: some lose it
    new = parse_policy(doc)
    update = publish_policy(uow, setup, run, store, new)
    assert update.enterprises is None and set(update.clauses) == {c.key for c in new.clauses}
    assert tuple(_stored_scope(uow, update.id)) == (True, None)  # SQL NULL, not "*" nor JSON null
    edited = [new if p.id == old.id else p for p in policies]
    full = run_match(uow, setup, store, edited, AS_OF)
    assert current_results(uow, run, data_dir).equals(run_results(full, data_dir))
    kinds = {e.kind for e in pending_events(uow)}
    assert kinds == {"no_longer_eligible"}
    # a later change of one enterprise is matched against the published version
    some = run_results(run, data_dir).get_column("uscc").unique().sort().head(3).to_list()
    rematch_enterprises(uow, setup, run, store, some)
    assert current_results(uow, run, data_dir).equals(run_results(full, data_dir))


def test_delivered_events_leave_the_pending_queue(store, policies, schema, uow, setup, data_dir):
    run = run_match(uow, setup, store, policies, AS_OF)
    eligible = set(run_results(run, data_dir).filter(pl.col("status") == "eligible").get_column("clause"))
    old = next(p for p in policies if len(p.clauses) > 1 and p.clauses[0].key in eligible)
    doc = old.spec.model_dump(mode="json")
    doc["clauses"] = doc["clauses"][1:]  # a clause withdrawn: everyone eligible for it loses it
    doc["tests"] = []
    publish_policy(uow, setup, run, store, parse_policy(doc))
    pending = pending_events(uow)
    assert pending and all(e.kind == "no_longer_eligible" for e in pending)
    assert mark_delivered(uow, [e.id for e in pending[:2]], datetime(2024, 7, 2, tzinfo=UTC)) == 2
    assert mark_delivered(uow, [pending[0].id], datetime(2024, 7, 3, tzinfo=UTC)) == 0  # delivered once
    assert [e.id for e in pending_events(uow)] == [e.id for e in pending[2:]]
    assert events_of_enterprise(uow, pending[0].uscc)[0].delivered_at == datetime(2024, 7, 2, tzinfo=UTC)


def test_an_enterprises_current_results_read_only_its_updates(
        store, city_store, policies, schema, uow, setup, data_dir):
    run = run_match(uow, setup, store, policies, AS_OF)
    relief = "cn-mof-sat-2023-12-small-low-profit/income-tax-relief"
    losers = (run_results(run, data_dir).filter((pl.col("clause") == relief) & (pl.col("status") == "eligible"))
              .get_column("uscc").head(2).to_list())
    _redeliver(city_store, store, data_dir / "tax-fix.csv", set(losers), _negate_taxable_income)
    for uscc in losers:  # one update each
        rematch_enterprises(uow, setup, run, store, [uscc], fields=["taxable_income"])
    everyone = current_results(uow, run, data_dir)
    for uscc in losers:
        mine = current_results(uow, run, data_dir, [uscc])
        assert mine.equals(everyone.filter(pl.col("uscc") == uscc))
        assert mine.filter(pl.col("clause") == relief).is_empty()  # the update applied: no longer eligible
