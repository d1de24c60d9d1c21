"""`zhida audit reconcile` on a data directory's embedded database: the tables agree with the log
(exit 0), or each difference is listed (exit 1). What it compares is tested on both backends in
tests/integration/workflow/test_reconcile.py."""

from datetime import UTC, datetime

from typer.testing import CliRunner

from zhida.audit import log
from zhida.bootstrap import bootstrap
from zhida.cli import app
from zhida.settings import Settings

runner = CliRunner()


def reconcile(tmp_path):
    return runner.invoke(app, ["audit", "reconcile"],
                         env={"ZHIDA_DATA_DIR": str(tmp_path), "ZHIDA_DATABASE_URL": None, "COLUMNS": "200"})


def test_an_empty_store_agrees_with_its_log(tmp_path):
    bootstrap(Settings(data_dir=tmp_path)).close()
    result = reconcile(tmp_path)
    assert result.exit_code == 0 and "事项 0 条、拨付 0 笔均与审计日志一致" in result.stdout, result.output


def test_a_logged_offer_whose_row_is_gone_is_listed_with_exit_code_one(tmp_path):
    wired = bootstrap(Settings(data_dir=tmp_path))
    with wired.uow() as uow:
        log.record(uow, kind="offer.create", actor="system", subject="offer:7",
                   data={"from": None, "to": "pending_review", "uscc": "91330300MA2XXXXXX1", "amount_fen": 100_000},
                   clock=lambda: datetime(2026, 12, 4, tzinfo=UTC))
        uow.commit()
    wired.close()
    result = reconcile(tmp_path)
    assert result.exit_code == 1, result.output
    assert "事项 7 的记录：表中为 不存在（被删除），审计日志第 0 条记为 存在" in result.stdout
    assert "请先运行 zhida audit verify" in result.stdout
