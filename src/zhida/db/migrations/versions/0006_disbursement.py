"""Review batches, 公示 and objections, payment batches, notifications (zhida.workflow).

Revision ID: 0006_disbursement
Revises: 0005_money
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from zhida.db.types import UTCDateTime

revision = "0006_disbursement"
down_revision = "0005_money"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer, autoincrement=True),
        sa.Column("uscc", sa.String(18), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("offer_id", sa.Integer, nullable=True),
        sa.Column("application_id", sa.Integer, nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("read_at", UTCDateTime, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_notifications"),
        sa.ForeignKeyConstraint(["offer_id"], ["offers.id"], name="fk_notifications_offer_id_offers"),
    )
    op.create_index("ix_notifications_uscc", "notifications", ["uscc"])
    op.create_table(
        "offer_reminders",
        sa.Column("offer_id", sa.Integer, nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("notification_id", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("offer_id", "day", name="pk_offer_reminders"),
        sa.ForeignKeyConstraint(["offer_id"], ["offers.id"], name="fk_offer_reminders_offer_id_offers"),
        sa.ForeignKeyConstraint(["notification_id"], ["notifications.id"],
                                name="fk_offer_reminders_notification_id_notifications"),
    )
    op.create_table(
        "notices",
        sa.Column("id", sa.Integer, autoincrement=True),
        sa.Column("clause", sa.String(200), nullable=False),
        sa.Column("department", sa.String(32), nullable=False),
        sa.Column("start_date", sa.Date, nullable=False),
        sa.Column("end_date", sa.Date, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("started_by", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("closed_by", sa.String(64), nullable=True),
        sa.Column("closed_at", UTCDateTime, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_notices"),
    )
    op.create_index("ix_notices_clause", "notices", ["clause"])
    op.create_table(
        "notice_offers",
        sa.Column("notice_id", sa.Integer, nullable=False),
        sa.Column("offer_id", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("notice_id", "offer_id", name="pk_notice_offers"),
        sa.ForeignKeyConstraint(["notice_id"], ["notices.id"], name="fk_notice_offers_notice_id_notices"),
        sa.ForeignKeyConstraint(["offer_id"], ["offers.id"], name="fk_notice_offers_offer_id_offers"),
    )
    op.create_table(
        "notice_objections",
        sa.Column("id", sa.Integer, autoincrement=True),
        sa.Column("notice_id", sa.Integer, nullable=False),
        sa.Column("offer_id", sa.Integer, nullable=False),
        sa.Column("raised_by", sa.String(64), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("raised_at", UTCDateTime, nullable=False),
        sa.Column("outcome", sa.String(16), nullable=True),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("resolved_by", sa.String(64), nullable=True),
        sa.Column("resolved_at", UTCDateTime, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_notice_objections"),
        sa.ForeignKeyConstraint(["notice_id"], ["notices.id"], name="fk_notice_objections_notice_id_notices"),
        sa.ForeignKeyConstraint(["offer_id"], ["offers.id"], name="fk_notice_objections_offer_id_offers"),
    )
    op.create_index("ix_notice_objections_notice_id", "notice_objections", ["notice_id"])
    op.create_index("ix_notice_objections_offer_id", "notice_objections", ["offer_id"])
    op.create_table(
        "payment_batches",
        sa.Column("id", sa.Integer, autoincrement=True),
        sa.Column("clause", sa.String(200), nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("prepared_by", sa.String(64), nullable=False),
        sa.Column("approved_by", sa.String(64), nullable=True),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("total_fen", sa.BigInteger, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("approved_at", UTCDateTime, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_payment_batches"),
        sa.CheckConstraint("approved_by IS NULL OR approved_by <> prepared_by", name="ck_payment_batches_two_people"),
    )
    op.create_index("ix_payment_batches_clause", "payment_batches", ["clause"])
    op.create_table(
        "payment_batch_items",
        sa.Column("payment_id", sa.Integer, nullable=False),
        sa.Column("batch_id", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("payment_id", name="pk_payment_batch_items"),
        sa.ForeignKeyConstraint(["payment_id"], ["payments.id"], name="fk_payment_batch_items_payment_id_payments"),
        sa.ForeignKeyConstraint(["batch_id"], ["payment_batches.id"],
                                name="fk_payment_batch_items_batch_id_payment_batches"),
    )
    op.create_index("ix_payment_batch_items_batch_id", "payment_batch_items", ["batch_id"])


def downgrade() -> None:
    op.drop_table("payment_batch_items")
    op.drop_table("payment_batches")
    op.drop_table("notice_objections")
    op.drop_table("notice_offers")
    op.drop_table("notices")
    op.drop_table("offer_reminders")
    op.drop_table("notifications")
