"""Incremental re-matching equals a full re-run; changes become outbox events."""

from datetime import UTC, datetime

import polars as pl
import sqlalchemy as sa

from zhida.matching.incremental import current_results, publish_policy, rematch_enterprises
from zhida.matching.outbox import Outbox
from zhida.matching.run import run_match, run_results
from zhida.profiles.load import load_feed
from zhida.rules.policy import parse_policy

from .conftest import AS_OF

TAX_FEED = "税务_企业所得税年度申报.csv"


def _redeliver(city_store, store, out, usccs, change):
    """Load a corrected tax feed holding only some enterprises' rows, changed by `change`."""
    lines = (city_store.root.parent / TAX_FEED).read_bytes().decode("gbk").splitlines()
    rows = [change(line) for line in lines[1:] if line.split(",")[1] in usccs]
    out.write_bytes(("\n".join([lines[0], *rows]) + "\n").encode("gbk"))
    load_feed(store, "tax", out, mapping_name="tax", known_on=AS_OF)


def _negate_taxable_income(line):
    cells = line.split(",")
    cells[5] = "-1000.00"  # 应纳税所得额: a loss
    return ",".join(cells)


def test_new_facts_for_enterprises_rematch_only_them_and_equal_a_full_rerun(
        store, city_store, policies, schema, tables, data_dir):
    run = run_match(store, policies, schema, AS_OF, tables=tables, data_dir=data_dir)
    before = run_results(run, data_dir)
    relief = "cn-mof-sat-2023-12-small-low-profit/income-tax-relief"
    losers = (before.filter((pl.col("clause") == relief) & (pl.col("status") == "eligible"))
              .get_column("uscc").head(3).to_list())
    assert losers
    _redeliver(city_store, store, data_dir / "tax-fix.csv", set(losers), _negate_taxable_income)

    update = rematch_enterprises(tables, data_dir, run, store, schema, losers, fields=["taxable_income"],
                                 clock=lambda: datetime(2024, 7, 1, tzinfo=UTC))
    assert update.enterprises == tuple(losers)
    assert relief in update.clauses and len(update.clauses) < run.clauses  # only clauses reading the field
    full = run_match(store, policies, schema, AS_OF, tables=tables, data_dir=data_dir)
    assert current_results(tables, run, data_dir).equals(run_results(full, data_dir))

    events = Outbox(tables).pending()
    assert {(e.uscc, e.clause, e.kind) for e in events} >= {(u, relief, "no_longer_eligible") for u in losers}
    assert all(e.uscc in losers and e.update_id == update.id for e in events)


def test_rematching_without_changes_writes_no_events(store, policies, schema, tables, data_dir):
    run = run_match(store, policies, schema, AS_OF, tables=tables, data_dir=data_dir)
    some = run_results(run, data_dir).get_column("uscc").unique().sort().head(5).to_list()
    update = rematch_enterprises(tables, data_dir, run, store, schema, some)
    assert update.events.is_empty() and Outbox(tables).pending() == []
    assert current_results(tables, run, data_dir).equals(run_results(run, data_dir))


def test_publishing_a_policy_version_rematches_its_clauses_and_equals_a_full_rerun(
        store, policies, schema, tables, data_dir):
    run = run_match(store, policies, schema, AS_OF, tables=tables, data_dir=data_dir)
    old = next(p for p in policies if p.id == "cn-mof-sat-2023-12-small-low-profit")
    doc = old.spec.model_dump(mode="json")
    clause = doc["clauses"][0]
    clause["when"] = f"({clause['when']}\n) and employees[last_year] >= 20"  # stricter: some lose it
    new = parse_policy(doc)
    update = publish_policy(tables, data_dir, run, store, schema, new)
    assert update.enterprises is None and set(update.clauses) == {c.key for c in new.clauses}
    edited = [new if p.id == old.id else p for p in policies]
    full = run_match(store, edited, schema, AS_OF, tables=tables, data_dir=data_dir)
    assert current_results(tables, run, data_dir).equals(run_results(full, data_dir))
    kinds = {e.kind for e in Outbox(tables).pending()}
    assert kinds == {"no_longer_eligible"}
    # a later change of one enterprise is matched against the published version
    some = run_results(run, data_dir).get_column("uscc").unique().sort().head(3).to_list()
    rematch_enterprises(tables, data_dir, run, store, schema, some)
    assert current_results(tables, run, data_dir).equals(run_results(full, data_dir))


def test_delivered_events_leave_the_pending_queue(store, policies, schema, tables, data_dir):
    run = run_match(store, policies, schema, AS_OF, tables=tables, data_dir=data_dir)
    eligible = set(run_results(run, data_dir).filter(pl.col("status") == "eligible").get_column("clause"))
    old = next(p for p in policies if len(p.clauses) > 1 and p.clauses[0].key in eligible)
    doc = old.spec.model_dump(mode="json")
    doc["clauses"] = doc["clauses"][1:]  # a clause withdrawn: everyone eligible for it loses it
    doc["tests"] = []
    publish_policy(tables, data_dir, run, store, schema, parse_policy(doc))
    outbox = Outbox(tables)
    pending = outbox.pending()
    assert pending and all(e.kind == "no_longer_eligible" for e in pending)
    outbox.mark_delivered([e.id for e in pending[:2]], datetime(2024, 7, 2, tzinfo=UTC))
    assert [e.id for e in outbox.pending()] == [e.id for e in pending[2:]]
    assert outbox.for_enterprise(pending[0].uscc)[0].delivered_at is not None


def test_an_enterprises_current_results_read_only_its_updates_also_in_a_database_from_before_the_scope_index(
        store, city_store, policies, schema, tables, data_dir):
    run = run_match(store, policies, schema, AS_OF, tables=tables, data_dir=data_dir)
    relief = "cn-mof-sat-2023-12-small-low-profit/income-tax-relief"
    losers = (run_results(run, data_dir).filter((pl.col("clause") == relief) & (pl.col("status") == "eligible"))
              .get_column("uscc").head(2).to_list())
    _redeliver(city_store, store, data_dir / "tax-fix.csv", set(losers), _negate_taxable_income)
    for uscc in losers:  # one update each
        rematch_enterprises(tables, data_dir, run, store, schema, [uscc], fields=["taxable_income"])
    everyone = current_results(tables, run, data_dir)
    for uscc in losers:
        mine = current_results(tables, run, data_dir, [uscc])
        assert mine.equals(everyone.filter(pl.col("uscc") == uscc))
        assert mine.filter(pl.col("clause") == relief).is_empty()  # the update applied: no longer eligible
    with tables.engine.begin() as conn:  # a database whose updates were committed before the index
        conn.execute(sa.delete(tables.update_scope))
    tables.create()
    for uscc in losers:
        assert current_results(tables, run, data_dir, [uscc]).equals(everyone.filter(pl.col("uscc") == uscc))
