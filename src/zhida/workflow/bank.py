"""The bank as the payment flow sees it: an adapter that honours idempotency keys.

`PaymentAdapter.send(key, account_no, account_name, amount_fen)` asks the bank to pay once per
key: the same key sent again returns the first result and moves no money. Real banks' 代发
interfaces carry such a reference (业务参考号); Zhida's key is written before the first attempt
(`payments.schedule_payment`), so a worker that crashed after sending and is restarted sends the
same key again, harmlessly.

`LoopbackBank` stands for the bank's side in tests and benchmarks: its transfers live in its own
table, in its own database (not the application's), keyed by the idempotency key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import sqlalchemy as sa

BANK = sa.MetaData()
transfers = sa.Table(
    "loopback_transfers", BANK,
    sa.Column("idempotency_key", sa.String(64), primary_key=True),
    sa.Column("account_no", sa.String(64), nullable=False),
    sa.Column("account_name", sa.String(200), nullable=False),
    sa.Column("amount_fen", sa.BigInteger, nullable=False),
    sa.Column("sent", sa.Integer, nullable=False),          # how many times the key was sent
)


@dataclass(frozen=True)
class BankResult:
    key: str
    paid: bool
    reason: str | None = None
    repeated: bool = False      # the key had been sent before: the first result, no new money


class PaymentAdapter(Protocol):
    def send(self, key: str, account_no: str, account_name: str, amount_fen: int) -> BankResult: ...


class LoopbackBank:
    """A bank on loopback: pays every transfer once per key (an empty account number fails)."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        BANK.create_all(engine)

    def send(self, key: str, account_no: str, account_name: str, amount_fen: int) -> BankResult:
        if not account_no.strip():
            return BankResult(key, paid=False, reason="收款账号为空")
        with self.engine.begin() as conn:
            known = conn.execute(sa.update(transfers).where(transfers.c.idempotency_key == key)
                                 .values(sent=transfers.c.sent + 1)).rowcount
            if known:
                return BankResult(key, paid=True, repeated=True)
            try:
                with conn.begin_nested():
                    conn.execute(sa.insert(transfers).values(idempotency_key=key, account_no=account_no,
                                                             account_name=account_name, amount_fen=amount_fen, sent=1))
            except sa.exc.IntegrityError:       # another worker sent the same key at this moment
                return BankResult(key, paid=True, repeated=True)
        return BankResult(key, paid=True)

    def paid_keys(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            return dict(conn.execute(sa.select(transfers.c.idempotency_key, transfers.c.amount_fen)).all())
