"""The bank's 代发 file out, and its result file back in.

* Export: an approved payment batch's pending payments, one row each, with the payment's
  idempotency key as the 业务参考号 the bank echoes back.
* Import: the whole file is checked first — unknown keys, duplicate rows, amounts that differ
  from the payment, malformed lines, bad result values, a result contradicting one already
  recorded — and every problem is reported at once (file, row, field, value, what to do) with
  nothing changed. A valid file settles each row by its key in one transaction; importing the
  same file again changes nothing (`settle_payment` is idempotent by key).

Amounts are integer fen inside; yuan text is parsed exactly (Decimal, at most two decimals).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from zhida.accounts import Permission, User, require
from zhida.audit import log as audit_log
from zhida.db.tables import offers, payment_batch_items, payment_batches, payments
from zhida.db.uow import UnitOfWork
from zhida.errors import ZhidaError
from zhida.workflow.batches import get_batch
from zhida.workflow.notices import yuan
from zhida.workflow.offers import OfferError, account_of
from zhida.workflow.payments import settle_payment
from zhida.workflow.sheets import read_table, write_table

Clock = Callable[[], datetime]
PAYMENT_HEADERS = ("序号", "收款户名", "收款账号", "开户行", "金额（元）", "用途", "业务参考号")
RESULT_HEADERS = ("业务参考号", "金额", "结果", "失败原因")
RESULTS = {"成功": True, "失败": False}
AMOUNT = re.compile(r"[0-9]+(\.[0-9]{1,2})?")


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Problem:
    file: str
    row: int
    field: str
    value: str
    fix: str

    def __str__(self) -> str:
        return f"{self.file} 第 {self.row} 行 {self.field}“{self.value}”：{self.fix}"


class BankFileRejected(ZhidaError):
    """A bank result file with problems; nothing was changed."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__(f"银行回单未导入（共 {len(problems)} 处问题，未做任何更改）：\n"
                         + "\n".join(f"  {p}" for p in problems))


@dataclass(frozen=True)
class Imported:
    paid: list[str]        # keys settled as paid now
    failed: list[str]      # keys settled as failed now
    unchanged: list[str]   # keys already recorded with the same result


def parse_yuan(text: str) -> int | None:
    """'1234.5' → 123450 fen exactly; None for anything that is not a positive amount written as
    digits with at most two decimals (thousands separators are allowed)."""
    plain = text.replace(",", "").replace("，", "").strip()
    if not AMOUNT.fullmatch(plain):
        return None
    fen = int(Decimal(plain) * 100)
    return fen if fen > 0 else None


def export_payment_file(uow: UnitOfWork, batch_id: int, out: Path, *, actor: User, clock: Clock = _now) -> Path:
    """The 代发 file of an approved batch (CSV or XLSX by extension): its payments still pending.
    The file shows whole account numbers, so writing it is a whole view in the audit log
    (`payment_batch.export`: the batch, how many accounts, who) — recorded in the same
    transaction, and the file is removed again if that transaction does not commit."""
    require(actor, Permission.PREPARE_PAYMENTS)
    with uow:
        batch = get_batch(uow, batch_id)
        if batch.state != "approved":
            raise OfferError(f"拨付批次 {batch_id} 尚未审批，不能导出代发文件；请由编制人以外的财政人员用 "
                             f"zhida pay batch approve {batch_id} 审批。")
        rows = uow.conn.execute(sa.select(payments.c.idempotency_key, payments.c.amount_fen, offers.c.clause,
                                          offers.c.period, offers.c.account_name, offers.c.account_bank,
                                          offers.c.account_no)
                                .select_from(payment_batch_items.join(payments, payments.c.id ==
                                                                      payment_batch_items.c.payment_id)
                                             .join(offers, offers.c.id == payments.c.offer_id))
                                .where((payment_batch_items.c.batch_id == batch_id) & (payments.c.state == "pending"))
                                .order_by(payments.c.id)).all()
        lines = [[str(n), r.account_name or "", account_of(uow, r.account_no or ""), r.account_bank or "",
                  yuan(r.amount_fen), f"{r.clause} {r.period}年政策资金", r.idempotency_key]
                 for n, r in enumerate(rows, start=1)]
        audit_log.record(uow, kind="payment_batch.export", actor=actor.username, subject=f"payment_batch:{batch_id}",
                         data={"accounts": len({r.account_no for r in rows if r.account_no}), "rows": len(rows),
                               "total_fen": sum(int(r.amount_fen) for r in rows), "whole": ["account_no"],
                               "file": out.name}, clock=clock)
        written = write_table(out, PAYMENT_HEADERS, lines, title=f"代发批次{batch_id}")
        try:
            uow.commit()
        except BaseException:
            written.unlink(missing_ok=True)   # no whole view without its record
            raise
    return written


def import_results(uow: UnitOfWork, path: Path, *, actor: User, clock: Clock = _now) -> Imported:
    """Check the whole result file, then settle every row in one transaction (or change nothing)."""
    require(actor, Permission.PREPARE_PAYMENTS)
    header, data = read_table(path)
    missing = [h for h in RESULT_HEADERS if h not in header]
    if missing:
        raise BankFileRejected([Problem(path.name, 1, "表头", "、".join(header),
                                        f"缺少列 {'、'.join(missing)}；表头应为 {'、'.join(RESULT_HEADERS)}")])
    with uow:
        known = {r.idempotency_key: r for r in uow.conn.execute(
            sa.select(payments.c.idempotency_key, payments.c.amount_fen, payments.c.state,
                      payment_batches.c.id.label("batch"), payment_batches.c.state.label("batch_state"))
            .select_from(payments.outerjoin(payment_batch_items, payment_batch_items.c.payment_id == payments.c.id)
                         .outerjoin(payment_batches, payment_batches.c.id == payment_batch_items.c.batch_id)))}
    check = _Check(path.name, header, known)
    for n, cells in data:
        check.row(n, cells)
    if check.problems:
        raise BankFileRejected(check.problems)
    paid: list[str] = []
    failed: list[str] = []
    unchanged: list[str] = []
    with uow:
        for key, ok, reason in check.rows:
            if known[key].state != "pending":
                unchanged.append(key)
                continue
            settle_payment(uow, key, paid=ok, reason=None if ok else reason, actor=actor, clock=clock)
            (paid if ok else failed).append(key)
        batches = sorted({int(known[key].batch) for key, _, _ in check.rows if known[key].batch is not None})
        audit_log.record(uow, kind="bank_result.import", actor=actor.username,
                         subject=f"bank_result:{hashlib.sha256(path.read_bytes()).hexdigest()}",
                         data={"file": path.name, "batches": batches, "paid": len(paid), "failed": len(failed),
                               "unchanged": len(unchanged)}, clock=clock)
        uow.commit()
    return Imported(paid=paid, failed=failed, unchanged=unchanged)


class _Check:
    """Every row of a result file checked against the payments; problems collected, none raised."""

    def __init__(self, name: str, header: list[str], known: dict[str, Any]) -> None:
        self.name, self.header, self.known = name, header, known
        self.col = {h: header.index(h) for h in RESULT_HEADERS}
        self.seen: dict[str, int] = {}
        self.problems: list[Problem] = []
        self.rows: list[tuple[str, bool, str]] = []   # key, paid, reason

    def problem(self, n: int, field: str, value: str, fix: str) -> None:
        self.problems.append(Problem(self.name, n, field, value, fix))

    def row(self, n: int, cells: list[str]) -> None:
        if len(cells) != len(self.header):
            self.problem(n, "整行", ",".join(cells), f"有 {len(cells)} 列，应为 {len(self.header)} 列"
                         f"（{'、'.join(self.header)}）；请核对分隔符与引号")
            return
        key, amount_text, result, reason = (cells[self.col[h]] for h in RESULT_HEADERS)
        payment = self.known.get(key)
        if not key or payment is None:
            self.problem(n, "业务参考号", key, "不是本系统导出的任何拨付记录；请核对是否为本平台的代发回单")
            return
        if key in self.seen:
            self.problem(n, "业务参考号", key, f"与第 {self.seen[key]} 行重复；每笔拨付只能出现一次，请删除重复行")
            return
        self.seen[key] = n
        fen = parse_yuan(amount_text)
        if fen is None:
            self.problem(n, "金额", amount_text, "应为正数，单位元，至多两位小数（如 1234.50）")
        elif fen != payment.amount_fen:
            self.problem(n, "金额", amount_text, f"与拨付金额 {yuan(payment.amount_fen)} 元不符；"
                                                 "请与银行核对，不要修改回单金额")
        if result not in RESULTS:
            self.problem(n, "结果", result, "应为“成功”或“失败”")
        elif not RESULTS[result] and not reason:
            self.problem(n, "失败原因", reason, "结果为“失败”时须填写银行返回的失败原因")
        elif payment.state != "pending" and (payment.state == "paid") != RESULTS[result]:
            self.problem(n, "结果", result, f"该笔已记为“{'成功' if payment.state == 'paid' else '失败'}”，与本次不符；"
                                           "请与银行核对，已记录的结果不能改写")
        if payment.batch is not None and payment.batch_state != "approved":
            self.problem(n, "业务参考号", key, f"所属拨付批次 {payment.batch} 尚未审批，不应已送银行")
        if fen is not None and result in RESULTS:
            self.rows.append((key, RESULTS[result], reason))
