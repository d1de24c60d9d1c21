"""The 代发 file out and the bank's result file in: every problem listed and nothing changed,
a valid file settles each payment, re-importing it changes nothing; SQLite and PostgreSQL."""

import csv

import pytest
import sqlalchemy as sa
from openpyxl import Workbook, load_workbook

from zhida.db import tables as t
from zhida.workflow import ledger
from zhida.workflow.bankfiles import BankFileRejected, export_payment_file, import_results, parse_yuan
from zhida.workflow.batches import approve_batch, prepare_batch
from zhida.workflow.offers import OfferError, get_offer
from zhida.workflow.payments import fund_budget
from zhida.workflow.states import OfferState

from .conftest import CLAUSE, FINANCE
from .test_batches import FINANCE2, POLICY, confirmed_offers

S = OfferState


def _batch(database, run, setup):
    confirmed = confirmed_offers(database, run, setup)
    fund_budget(database.uow(), POLICY, 2024, sum(o.amount_fen for o in confirmed), actor=FINANCE)
    return prepare_batch(database.uow(), CLAUSE, 2024, actor=FINANCE)


def _write_csv(path, rows):
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        f.write("\n".join(rows) + "\n")
    return path


def _yuan(fen):
    return f"{fen // 100}.{fen % 100:02d}"


def _snapshot(database):
    with database.uow() as uow:
        return (uow.conn.execute(sa.select(t.payments).order_by(t.payments.c.id)).all(),
                uow.conn.execute(sa.select(t.offers.c.id, t.offers.c.state).order_by(t.offers.c.id)).all(),
                uow.conn.execute(sa.select(sa.func.count()).select_from(t.ledger_entries)).scalar_one())


def test_yuan_text_is_parsed_exactly_to_fen():
    assert parse_yuan("1234.5") == 123450 and parse_yuan("1,000.01") == 100001 and parse_yuan("3") == 300
    assert [parse_yuan(x) for x in ["1.001", "-5", "0", "0.00", "abc", "", "NaN", "1e3", "1."]] == [None] * 9


def test_the_payment_file_is_exported_only_after_approval_and_carries_the_keys(database, published_run, setup,
                                                                              tmp_path):
    batch = _batch(database, published_run, setup)
    with pytest.raises(OfferError, match="尚未审批"):
        export_payment_file(database.uow(), batch.id, tmp_path / "bank.csv", actor=FINANCE)
    approve_batch(database.uow(), batch.id, actor=FINANCE2)
    out = export_payment_file(database.uow(), batch.id, tmp_path / "bank.xlsx", actor=FINANCE)
    rows = [[c.value for c in r] for r in load_workbook(out).active.iter_rows()]
    assert rows[0] == ["序号", "收款户名", "收款账号", "开户行", "金额（元）", "用途", "业务参考号"]
    by_key = {r[6]: r for r in rows[1:]}
    assert set(by_key) == {p.idempotency_key for p in batch.payments}
    p = batch.payments[0]
    assert by_key[p.idempotency_key][1:5] == ["某某有限公司", "6222000012345678", "温州银行", _yuan(p.amount_fen)]
    with export_payment_file(database.uow(), batch.id, tmp_path / "bank.csv", actor=FINANCE).open(
            encoding="utf-8-sig") as f:
        assert list(csv.reader(f)) == rows


def test_a_bad_result_file_is_rejected_with_every_problem_and_changes_nothing(database, published_run, setup,
                                                                             tmp_path):
    batch = _batch(database, published_run, setup)
    approve_batch(database.uow(), batch.id, actor=FINANCE2)
    a, b, c, *_ = batch.payments
    bad = _write_csv(tmp_path / "回单.csv", [
        "业务参考号,金额,结果,失败原因",
        f"{a.idempotency_key},{_yuan(a.amount_fen)},成功,",
        "offer-999-1,100.00,成功,",                                      # unknown
        f"{a.idempotency_key},{_yuan(a.amount_fen)},成功,",               # duplicate
        f"{b.idempotency_key},{_yuan(b.amount_fen + 1)},成功,",           # wrong amount
        f"{c.idempotency_key},{_yuan(c.amount_fen)}",                     # malformed: a column short
        f"{c.idempotency_key},{_yuan(c.amount_fen)},已退回,",             # bad result
    ])
    before = _snapshot(database)
    with pytest.raises(BankFileRejected) as e:
        import_results(database.uow(), bad, actor=FINANCE)
    found = [(p.file, p.row, p.field, p.value) for p in e.value.problems]
    assert found == [("回单.csv", 3, "业务参考号", "offer-999-1"),
                     ("回单.csv", 4, "业务参考号", a.idempotency_key),
                     ("回单.csv", 5, "金额", _yuan(b.amount_fen + 1)),
                     ("回单.csv", 6, "整行", f"{c.idempotency_key},{_yuan(c.amount_fen)}"),
                     ("回单.csv", 7, "结果", "已退回")]
    assert "与第 2 行重复" in str(e.value) and "未做任何更改" in str(e.value)
    assert _snapshot(database) == before


def test_a_valid_result_file_settles_each_payment_and_importing_it_again_changes_nothing(database, published_run,
                                                                                       setup, tmp_path):
    batch = _batch(database, published_run, setup)
    approve_batch(database.uow(), batch.id, actor=FINANCE2)
    failed, *fine = batch.payments
    wb = Workbook()
    ws = wb.active
    ws.append(["业务参考号", "金额", "结果", "失败原因"])
    ws.append([failed.idempotency_key, _yuan(failed.amount_fen), "失败", "账户已销户"])
    for p in fine:
        ws.append([p.idempotency_key, _yuan(p.amount_fen), "成功", None])
    wb.save(tmp_path / "回单.xlsx")
    done = import_results(database.uow(), tmp_path / "回单.xlsx", actor=FINANCE)
    assert (done.failed, sorted(done.paid)) == ([failed.idempotency_key], sorted(p.idempotency_key for p in fine))
    after = _snapshot(database)
    again = import_results(database.uow(), tmp_path / "回单.xlsx", actor=FINANCE)
    assert again.paid == again.failed == [] and len(again.unchanged) == len(batch.payments)
    assert _snapshot(database) == after
    assert get_offer(database.uow(), failed.offer_id).state is S.PAYMENT_FAILED
    assert all(get_offer(database.uow(), p.offer_id).state is S.PAID for p in fine)
    ledger.check_balanced(database.uow())
    assert ledger.balance(database.uow(), ledger.paid_account(POLICY, 2024)) == sum(p.amount_fen for p in fine)
    assert ledger.balance(database.uow(), ledger.budget_account(POLICY, 2024)) == failed.amount_fen

    retry = prepare_batch(database.uow(), CLAUSE, 2024, actor=FINANCE)       # the failed payment goes again
    assert [p.offer_id for p in retry.payments] == [failed.offer_id]
    assert retry.payments[0].idempotency_key != failed.idempotency_key
