"""免申即享 offers and their events, budgets, the ledger and payments (zhida.workflow).

Revision ID: 0005_money
Revises: 0004_users
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from zhida.db.types import UTCDateTime

revision = "0005_money"
down_revision = "0004_users"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "offers",
        sa.Column("id", sa.Integer, autoincrement=True),
        sa.Column("clause", sa.String(200), nullable=False),
        sa.Column("policy_id", sa.String(200), nullable=False),
        sa.Column("version_id", sa.Integer, nullable=False),
        sa.Column("run_id", sa.String(40), nullable=False),
        sa.Column("uscc", sa.String(18), nullable=False),
        sa.Column("period", sa.String(16), nullable=False),
        sa.Column("amount_fen", sa.BigInteger, nullable=False),
        sa.Column("department", sa.String(32), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("confirm_by", sa.Date, nullable=True),
        sa.Column("account_name", sa.String(200), nullable=True),
        sa.Column("account_bank", sa.String(200), nullable=True),
        sa.Column("account_no", sa.String(64), nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_offers"),
        sa.UniqueConstraint("clause", "uscc", "period", name="uq_offers_clause_uscc_period"),
        sa.ForeignKeyConstraint(["version_id"], ["policy_versions.id"], name="fk_offers_version_id_policy_versions"),
        sa.ForeignKeyConstraint(["run_id"], ["match_runs.id"], name="fk_offers_run_id_match_runs"),
    )
    op.create_index("ix_offers_uscc", "offers", ["uscc"])
    op.create_index("ix_offers_state", "offers", ["state"])
    op.create_table(
        "offer_events",
        sa.Column("id", sa.Integer, autoincrement=True),
        sa.Column("offer_id", sa.Integer, nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("from_state", sa.String(32), nullable=True),
        sa.Column("to_state", sa.String(32), nullable=False),
        sa.Column("policy_version", sa.String(64), nullable=False),
        sa.Column("detail", sa.JSON(none_as_null=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_offer_events"),
        sa.ForeignKeyConstraint(["offer_id"], ["offers.id"], name="fk_offer_events_offer_id_offers"),
    )
    op.create_index("ix_offer_events_offer_id", "offer_events", ["offer_id"])
    op.create_table(
        "budgets",
        sa.Column("policy_id", sa.String(200), nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("funded_fen", sa.BigInteger, nullable=False),
        sa.Column("committed_fen", sa.BigInteger, nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("policy_id", "year", name="pk_budgets"),
        sa.CheckConstraint("committed_fen >= 0 AND committed_fen <= funded_fen", name="ck_budgets_within_funds"),
    )
    op.create_table(
        "ledger_entries",
        sa.Column("id", sa.Integer, autoincrement=True),
        sa.Column("txn", sa.String(64), nullable=False),
        sa.Column("account", sa.String(250), nullable=False),
        sa.Column("amount_fen", sa.BigInteger, nullable=False),
        sa.Column("offer_id", sa.Integer, nullable=True),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("memo", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ledger_entries"),
        sa.ForeignKeyConstraint(["offer_id"], ["offers.id"], name="fk_ledger_entries_offer_id_offers"),
    )
    op.create_index("ix_ledger_entries_txn", "ledger_entries", ["txn"])
    op.create_index("ix_ledger_entries_account", "ledger_entries", ["account"])
    op.create_table(
        "payments",
        sa.Column("id", sa.Integer, autoincrement=True),
        sa.Column("offer_id", sa.Integer, nullable=False),
        sa.Column("idempotency_key", sa.String(64), nullable=False),
        sa.Column("amount_fen", sa.BigInteger, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("settled_at", UTCDateTime, nullable=True),
        sa.Column("failure_reason", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_payments"),
        sa.UniqueConstraint("idempotency_key", name="uq_payments_idempotency_key"),
        sa.ForeignKeyConstraint(["offer_id"], ["offers.id"], name="fk_payments_offer_id_offers"),
    )
    op.create_index("uq_payments_live_offer", "payments", ["offer_id"], unique=True,
                    sqlite_where=sa.text("state IN ('pending', 'paid')"),
                    postgresql_where=sa.text("state IN ('pending', 'paid')"))


def downgrade() -> None:
    op.drop_index("uq_payments_live_offer", table_name="payments")
    op.drop_table("payments")
    op.drop_table("ledger_entries")
    op.drop_table("budgets")
    op.drop_table("offer_events")
    op.drop_table("offers")
