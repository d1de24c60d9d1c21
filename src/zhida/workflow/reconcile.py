"""The money tables against the audit log: an amount edited in the database is found.

`zhida audit verify` proves the log itself untouched; this compares what the log recorded with
what the tables hold now. Every offer entry carries the firm (USCC), the award in fen and the
state after the change, and every payment step the payment's idempotency key, amount and state
(`zhida.workflow.offers._event`, `zhida.workflow.payments`). The latest entry of each offer and
of each payment must agree with its row:

    found = reconcile(uow, actor=auditor)
    found.ok, found.mismatches      # e.g. 拨付 offer-7-1 的金额：表中为 1000100 分，审计日志第 41 条记为 1000000 分

A row with no entry at all (written beside the services) and an entry whose row is gone are
mismatches too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from zhida.accounts import User
from zhida.audit import log as audit_log
from zhida.db.tables import offers, payments
from zhida.db.uow import UnitOfWork


@dataclass(frozen=True)
class Mismatch:
    what: str                   # 事项 12 / 拨付 offer-12-1
    field: str                  # 金额, 企业, 状态, 审计记录, …
    stored: str                 # as the table holds it
    logged: str                 # as the latest entry recorded it
    idx: int | None = None      # that entry's index

    def __str__(self) -> str:
        where = f"审计日志第 {self.idx} 条" if self.idx is not None else "审计日志"
        return f"{self.what} 的{self.field}：表中为 {self.stored}，{where}记为 {self.logged}"


@dataclass
class Reconciliation:
    offers: int = 0
    payments: int = 0
    mismatches: list[Mismatch] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.mismatches


def reconcile(uow: UnitOfWork, *, actor: User) -> Reconciliation:
    """Compare every offer and payment row with its latest audit entry (needs `verify_audit`)."""
    logged = audit_log.entries_of_kind(uow, "offer.", actor=actor)
    by_offer: dict[int, audit_log.Entry] = {}
    by_key: dict[str, tuple[audit_log.Entry, dict[str, Any]]] = {}
    for entry in logged:
        if "amount_fen" in entry.data:
            by_offer[int(entry.subject.removeprefix("offer:"))] = entry
        if isinstance(entry.data.get("payment"), dict):
            by_key[str(entry.data["payment"]["key"])] = (entry, entry.data["payment"])
    found = Reconciliation()
    with uow:
        offer_rows = uow.conn.execute(sa.select(offers.c.id, offers.c.uscc, offers.c.amount_fen, offers.c.state)
                                      .order_by(offers.c.id)).all()
        payment_rows = uow.conn.execute(sa.select(payments.c.idempotency_key, payments.c.offer_id,
                                                  payments.c.amount_fen, payments.c.state)
                                        .order_by(payments.c.id)).all()
    found.offers, found.payments = len(offer_rows), len(payment_rows)
    add = found.mismatches.append
    for o in offer_rows:
        what = f"事项 {o.id}"
        if int(o.id) not in by_offer:
            add(Mismatch(what, "审计记录", "存在", "无（不是经由系统生成或变更的）"))
            continue
        entry = by_offer.pop(int(o.id))
        for label, stored, recorded in (("企业", o.uscc, entry.data.get("uscc")),
                                        ("金额", f"{o.amount_fen} 分", f"{entry.data['amount_fen']} 分"),
                                        ("状态", o.state, entry.data.get("to"))):
            if stored != recorded:
                add(Mismatch(what, label, str(stored), str(recorded), entry.idx))
    for p in payment_rows:
        what = f"拨付 {p.idempotency_key}"
        if p.idempotency_key not in by_key:
            add(Mismatch(what, "审计记录", "存在", "无（不是经由系统排入拨付的）"))
            continue
        entry, logged_payment = by_key.pop(p.idempotency_key)
        for label, stored, was in (("事项", f"offer:{p.offer_id}", entry.subject),
                                   ("金额", f"{p.amount_fen} 分", f"{logged_payment.get('amount_fen')} 分"),
                                   ("状态", p.state, logged_payment.get("state"))):
            if stored != was:
                add(Mismatch(what, label, str(stored), str(was), entry.idx))
    for offer_id, entry in by_offer.items():
        add(Mismatch(f"事项 {offer_id}", "记录", "不存在（被删除）", "存在", entry.idx))
    for key, (entry, _) in by_key.items():
        add(Mismatch(f"拨付 {key}", "记录", "不存在（被删除）", "存在", entry.idx))
    return found
