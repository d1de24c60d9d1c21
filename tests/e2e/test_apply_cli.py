"""即申即办 end to end on the demo city, through the command line only (the sequence in
docs/money.md): a firm with complete verified data is decided the moment it submits; a firm
whose profile lacks a fact declares it, is routed to the department's review, is rejected with
a reason, resubmits and is approved; both awards are then paid through the same batches, bank
file and result import as 免申即享 offers — once."""


import polars as pl
import pytest
import sqlalchemy as sa
from openpyxl import Workbook, load_workbook

from zhida.db import Database
from zhida.db import tables as t
from zhida.matching.run import load_run, run_results

from .test_money_cli import zhida

CLAUSE = "cn-mof-2017-164-graduate-social-insurance/graduate-si-subsidy"
POLICY = CLAUSE.split("/")[0]
FACT = "graduate_si_employer_paid@2023"


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    data = tmp_path_factory.mktemp("apply")
    zhida("run", "--enterprises", "60", data_dir=data)
    database = Database.open(f"sqlite:///{data / 'zhida.sqlite'}")
    yield data, database
    database.dispose()


def test_an_instant_clause_decides_at_once_or_routes_a_declared_fact_to_review_and_both_are_paid(city, tmp_path):
    data, db = city

    def z(*args, ok=True):
        return zhida(*args, data_dir=data, ok=ok)

    results = run_results(load_run(db.uow()), data, policies=[POLICY]).filter(pl.col("clause") == CLAUSE)
    complete = results.filter(pl.col("status") == "eligible")["uscc"][0]
    lacking = results.filter(pl.col("status") == "unknown")["uscc"][0]
    for name, uscc in (("complete", complete), ("lacking", lacking)):
        z("user", "add", name, "--name", name, "--role", "enterprise", "--uscc", uscc, "--no-password")
    account = ("--account-name", "某企业", "--account-bank", "温州银行", "--account-no", "6222021100001111", "--pledge")

    assert "申报 1（填写中），受理部门 hrss" in z("apply", "start", CLAUSE, "--today", "2024-06-30", "--as", "complete")
    shown = z("apply", "show", "1", "--as", "complete")
    assert "人社_就业补助年度汇总.csv" in shown and "提交后即时办结" in shown
    assert "已即时办结" in z("apply", "submit", "1", *account, "--as", "complete")

    z("apply", "start", CLAUSE, "--today", "2024-06-30", "--as", "lacking")
    assert "还缺少以下事实" in z("apply", "submit", "2", *account, "--as", "lacking", ok=False)
    z("apply", "declare", "2", f"{FACT}=24000.50", "--as", "lacking")
    assert "企业自报" in z("apply", "show", "2", "--as", "lacking")
    assert "转 hrss 审核" in z("apply", "submit", "2", *account, "--as", "lacking")
    queue = z("apply", "list", "--as", "reviewer")
    assert lacking in queue and complete not in queue
    assert "须写明理由" in z("apply", "decide", "2", "--reject", "--as", "reviewer", ok=False)
    z("apply", "decide", "2", "--reject", "--reason", "缴费额与名册不符，请按名册更正", "--as", "reviewer")
    z("apply", "declare", "2", f"{FACT}=20000", "--as", "lacking")
    z("apply", "submit", "2", *account, "--as", "lacking")
    assert "已通过" in z("apply", "decide", "2", "--approve", "--as", "reviewer")

    with db.uow() as uow:
        awards = dict(uow.conn.execute(sa.select(t.offers.c.uscc, t.offers.c.amount_fen)
                                       .where(t.offers.c.clause == CLAUSE)).all())
    assert set(awards) == {complete, lacking} and awards[lacking] == 2_000_000
    total = sum(awards.values())
    z("user", "add", "finance2", "--name", "财政复核", "--role", "finance", "--department", "fin", "--no-password")
    z("pay", "fund", POLICY, "2024", f"{total // 100}.{total % 100:02d}", "--as", "finance")
    z("pay", "batch", "prepare", CLAUSE, "--year", "2024", "--as", "finance")
    z("pay", "batch", "approve", "1", "--as", "finance2")
    z("pay", "file", "1", "--out", str(tmp_path / "bank.xlsx"), "--as", "finance")
    sheet = [list(r) for r in load_workbook(tmp_path / "bank.xlsx").active.iter_rows(values_only=True)]
    assert len(sheet) == 3
    wb = Workbook()
    wb.active.append(["业务参考号", "金额", "结果", "失败原因"])
    for row in sheet[1:]:
        wb.active.append([row[6], row[4], "成功", None])
    wb.save(tmp_path / "回单.xlsx")
    z("pay", "import", str(tmp_path / "回单.xlsx"), "--as", "finance")
    with db.uow() as uow:
        states = set(uow.conn.execute(sa.select(t.offers.c.state).where(t.offers.c.clause == CLAUSE)).scalars())
    assert states == {"paid"}
    assert "账簿平衡" in z("pay", "ledger", "--as", "finance")
    assert "已通过" in z("apply", "list", "--as", "lacking")
    assert "不能再修改或提交" in z("apply", "submit", "1", *account, "--as", "complete", ok=False)   # paid once
