"""Review batches, 公示 and objections, payment batches, notifications (zhida.workflow)."""

from __future__ import annotations

import sqlalchemy as sa

from zhida.db.metadata import metadata
from zhida.db.types import UTCDateTime

# the outbox of messages to firms (公示 closed, reminders, decisions); read by the firm's own account
notifications = sa.Table(
    "notifications", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("uscc", sa.String(18), nullable=False, index=True),
    sa.Column("kind", sa.String(32), nullable=False),                 # e.g. offer_confirm, offer_reminder
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("offer_id", sa.Integer, sa.ForeignKey("offers.id"), nullable=True),
    sa.Column("application_id", sa.Integer, nullable=True),            # zhida.workflow.applications
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("read_at", UTCDateTime, nullable=True),
)

# one reminder per offer and day, whoever (or however many runners) sends it
offer_reminders = sa.Table(
    "offer_reminders", metadata,
    sa.Column("offer_id", sa.Integer, sa.ForeignKey("offers.id"), primary_key=True),
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("notification_id", sa.Integer, sa.ForeignKey("notifications.id"), nullable=False),
)

# a 公示: a clause's approved offers shown to the public for an objection window
notices = sa.Table(
    "notices", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("clause", sa.String(200), nullable=False, index=True),
    sa.Column("department", sa.String(32), nullable=False),
    sa.Column("start_date", sa.Date, nullable=False),
    sa.Column("end_date", sa.Date, nullable=False),                   # last day objections are taken
    sa.Column("state", sa.String(16), nullable=False),                # open | closed
    sa.Column("started_by", sa.String(64), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("closed_by", sa.String(64), nullable=True),
    sa.Column("closed_at", UTCDateTime, nullable=True),
)

notice_offers = sa.Table(
    "notice_offers", metadata,
    sa.Column("notice_id", sa.Integer, sa.ForeignKey("notices.id"), primary_key=True),
    sa.Column("offer_id", sa.Integer, sa.ForeignKey("offers.id"), primary_key=True),
)

notice_objections = sa.Table(
    "notice_objections", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("notice_id", sa.Integer, sa.ForeignKey("notices.id"), nullable=False, index=True),
    sa.Column("offer_id", sa.Integer, sa.ForeignKey("offers.id"), nullable=False, index=True),
    sa.Column("raised_by", sa.String(64), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("raised_at", UTCDateTime, nullable=False),
    sa.Column("outcome", sa.String(16), nullable=True),               # NULL (open) | dismissed | upheld
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("resolved_by", sa.String(64), nullable=True),
    sa.Column("resolved_at", UTCDateTime, nullable=True),
)

# a payment batch: prepared by one finance user, approved by another before its file is exported
payment_batches = sa.Table(
    "payment_batches", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("clause", sa.String(200), nullable=False, index=True),
    sa.Column("year", sa.Integer, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),                # prepared | approved
    sa.Column("prepared_by", sa.String(64), nullable=False),
    sa.Column("approved_by", sa.String(64), nullable=True),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("total_fen", sa.BigInteger, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("approved_at", UTCDateTime, nullable=True),
    sa.CheckConstraint("approved_by IS NULL OR approved_by <> prepared_by", name="two_people"),
)

payment_batch_items = sa.Table(
    "payment_batch_items", metadata,
    sa.Column("payment_id", sa.Integer, sa.ForeignKey("payments.id"), primary_key=True),   # in one batch only
    sa.Column("batch_id", sa.Integer, sa.ForeignKey("payment_batches.id"), nullable=False, index=True),
)
