"""Whitelist export: CSV and XLSX with the stated columns, a summary, and cost against budget."""

import csv

import openpyxl
import polars as pl
import pytest

from zhida.matching.run import run_match, run_results
from zhida.matching.whitelist import FIXED_COLUMNS, whitelist, window_text, write_csv, write_xlsx
from zhida.rules.model.policy import parse_policy

from .conftest import AS_OF


@pytest.fixture
def run(store, policies, uow, setup, data_dir):
    return run_match(uow, setup, store, policies, AS_OF)


def _busiest_clause(results):
    return (results.filter(pl.col("status") == "eligible").group_by("clause").len()
            .sort(["len", "clause"], descending=[True, False]).get_column("clause")[0])


def test_xlsx_opens_with_the_stated_columns_and_exact_amounts(run, schema, data_dir, tmp_path):
    results = run_results(run, data_dir)
    clause = _busiest_clause(results)
    wl = whitelist(run, clause, results, schema=schema, data_dir=data_dir)
    eligible = results.filter((pl.col("clause") == clause) & (pl.col("status") == "eligible"))
    assert wl.rows.height == eligible.height and wl.total_fen == eligible["amount_fen"].sum()
    path = write_xlsx(wl, tmp_path)
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["白名单", "汇总"]
    sheet = book["白名单"]
    header = [c.value for c in sheet[1]]
    assert header[:len(FIXED_COLUMNS)] == FIXED_COLUMNS and len(header) > len(FIXED_COLUMNS)  # + deciding facts
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert sorted(r[0] for r in rows) == sorted(eligible["uscc"].to_list())
    amount = header.index("金额（元）")
    assert round(sum(r[amount] for r in rows) * 100) == wl.total_fen
    summary = list(book["汇总"].iter_rows(values_only=True))
    for dim in ("所属区县", "行业门类", "企业规模"):
        assert sum(r[2] for r in summary if r[0] == dim) == wl.rows.height
    assert any(r[0] == "合计" and r[1] == "政策预算" for r in summary)


def test_csv_and_summary_by_district_industry_and_size(run, schema, data_dir, tmp_path):
    results = run_results(run, data_dir)
    clause = _busiest_clause(results)
    wl = whitelist(run, clause, results, schema=schema, data_dir=data_dir)
    main, summary = write_csv(wl, tmp_path)
    with main.open(encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0])[:len(FIXED_COLUMNS)] == FIXED_COLUMNS and len(rows) == wl.rows.height
    with summary.open(encoding="utf-8-sig") as fh:
        lines = list(csv.reader(fh))
    by_size = [r for r in lines if r[0] == "企业规模"]
    assert sum(int(r[2]) for r in by_size) == wl.rows.height
    assert sum(int(r[3].replace(".", "")) for r in by_size) == wl.total_fen


def test_cost_is_compared_with_the_policy_budget(store, policies, schema, uow, setup, data_dir):
    budgeted = [parse_policy({**p.spec.model_dump(mode="json"), "budget": "1万"}) for p in policies]
    run = run_match(uow, setup, store, budgeted, AS_OF)
    results = run_results(run, data_dir)
    paid_clauses = [c.key for p in budgeted for c in p.clauses if c.spec.mode != "report_only"]
    clause = _busiest_clause(results.filter(pl.col("clause").is_in(paid_clauses)))
    wl = whitelist(run, clause, results, schema=schema, data_dir=data_dir)
    policy = clause.split("/")[0]
    paid = results.filter((pl.col("policy") == policy) & (pl.col("status") == "eligible")
                          & pl.col("clause").is_in(paid_clauses))["amount_fen"].sum()
    assert wl.budget_fen == 1_000_000 and wl.policy_total_fen == paid
    assert wl.over_budget == (paid > 1_000_000)


def test_money_already_paid_is_a_column_a_clerk_can_read(run, schema, data_dir, policies):
    """A clause that reads what was already paid (received / received_amount) names those facts
    in Chinese, with the window and in yuan; no frame column name reaches the export."""
    from zhida.rules.evaluate.engine import compile_policies

    compiled = compile_policies(policies, schema, AS_OF)
    paid = [c for c in compiled.clauses if c.requirements.received or c.requirements.received_totals]
    assert paid, "the pack has clauses that read money already paid"
    results = run_results(run, data_dir)
    for c in paid:
        header = whitelist(run, c.key, results, schema=schema, data_dir=data_dir).rows.columns
        facts = header[len(FIXED_COLUMNS):]
        assert not [h for h in facts if "received" in h or "@" in h], (c.key, facts)
        assert any(h.startswith("已获资金“") for h in facts), (c.key, facts)


def test_a_received_amount_window_reads_as_a_clerk_says_it():
    assert [window_text(w) for w in ("within=3y", "within=36m", "since=2023-01-01", "")] == [
        "近3年内", "近36个月内", "2023-01-01以来", ""]
