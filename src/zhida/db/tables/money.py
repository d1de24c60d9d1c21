"""免申即享 offers and their events, budgets, the double-entry ledger, and payments (zhida.workflow)."""

from __future__ import annotations

import sqlalchemy as sa

from zhida.db.metadata import metadata
from zhida.db.types import JSON, UTCDateTime

# one offer per firm, clause and period: the first guard against paying twice
offers = sa.Table(
    "offers", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("clause", sa.String(200), nullable=False),
    sa.Column("policy_id", sa.String(200), nullable=False),
    sa.Column("version_id", sa.Integer, sa.ForeignKey("policy_versions.id"), nullable=False),
    sa.Column("run_id", sa.String(40), sa.ForeignKey("match_runs.id"), nullable=True),  # NULL: an application's award
    sa.Column("uscc", sa.String(18), nullable=False, index=True),
    sa.Column("period", sa.String(16), nullable=False),             # e.g. "2024": the year the award is for
    sa.Column("amount_fen", sa.BigInteger, nullable=False),
    sa.Column("department", sa.String(32), nullable=False),         # the reviewing department's code
    sa.Column("state", sa.String(32), nullable=False, index=True),  # zhida.workflow.states.OfferState
    sa.Column("confirm_by", sa.Date, nullable=True),                # deadline for the firm's confirmation
    sa.Column("account_name", sa.String(200), nullable=True),       # receiving account, as the firm confirmed it
    sa.Column("account_bank", sa.String(200), nullable=True),
    sa.Column("account_no", sa.String(200), nullable=True),           # sealed at rest (zhida.sealing)
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("clause", "uscc", "period"),
)

offer_events = sa.Table(
    "offer_events", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("offer_id", sa.Integer, sa.ForeignKey("offers.id"), nullable=False, index=True),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("actor", sa.String(64), nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("from_state", sa.String(32), nullable=True),          # NULL: the offer was created
    sa.Column("to_state", sa.String(32), nullable=False),
    sa.Column("policy_version", sa.String(64), nullable=False),     # content hash of the version in force
    sa.Column("detail", JSON(), nullable=True),                     # reason, objection, account (masked) …
)

# money set aside for a policy and year; `committed_fen` never exceeds `funded_fen`
budgets = sa.Table(
    "budgets", metadata,
    sa.Column("policy_id", sa.String(200), primary_key=True),
    sa.Column("year", sa.Integer, primary_key=True),
    sa.Column("funded_fen", sa.BigInteger, nullable=False),
    sa.Column("committed_fen", sa.BigInteger, nullable=False, server_default="0"),
    sa.CheckConstraint("committed_fen >= 0 AND committed_fen <= funded_fen", name="within_funds"),
)

# append-only, double-entry: the entries of one transaction sum to zero
ledger_entries = sa.Table(
    "ledger_entries", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("txn", sa.String(64), nullable=False, index=True),
    sa.Column("account", sa.String(250), nullable=False, index=True),  # e.g. budget:<policy>:<year>
    sa.Column("amount_fen", sa.BigInteger, nullable=False),            # signed: + into the account
    sa.Column("offer_id", sa.Integer, sa.ForeignKey("offers.id"), nullable=True),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("memo", sa.Text, nullable=False),
)

# a payment attempt's idempotency key exists before the attempt; at most one live payment per offer
# and tranche (the whole award, or an advance and its balance)
payments = sa.Table(
    "payments", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("offer_id", sa.Integer, sa.ForeignKey("offers.id"), nullable=False),
    sa.Column("idempotency_key", sa.String(64), nullable=False, unique=True),
    sa.Column("amount_fen", sa.BigInteger, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),              # pending | paid | failed
    sa.Column("tranche", sa.String(16), nullable=False, server_default="full"),  # full | advance | balance (预先拨付)
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("settled_at", UTCDateTime, nullable=True),
    sa.Column("failure_reason", sa.Text, nullable=True),
)
sa.Index("uq_payments_live_offer", payments.c.offer_id, payments.c.tranche, unique=True,
         sqlite_where=payments.c.state.in_(["pending", "paid"]),
         postgresql_where=payments.c.state.in_(["pending", "paid"]))
