"""诉求: a firm's request or question for a department, with its time limit and events
(zhida.workflow.enquiries)."""

from __future__ import annotations

import sqlalchemy as sa

from zhida.db.metadata import metadata
from zhida.db.types import JSON, UTCDateTime

enquiries = sa.Table(
    "enquiries", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("uscc", sa.String(18), nullable=False, index=True),
    sa.Column("department", sa.String(32), nullable=False, index=True),  # routed to, by topic
    sa.Column("topic", sa.String(32), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("source", sa.String(16), nullable=False),                 # web | cli | assistant (a hand-off)
    sa.Column("state", sa.String(16), nullable=False, index=True),      # open | answered | closed
    sa.Column("due_by", UTCDateTime, nullable=False),                   # the reply's time limit
    sa.Column("escalations", sa.Integer, nullable=False, server_default="0"),  # times 督办 for lateness
    sa.Column("rating", sa.Integer, nullable=True),                     # 1–5, given when the firm closes it
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.CheckConstraint("rating IS NULL OR (rating >= 1 AND rating <= 5)", name="rating_1_to_5"),
)

enquiry_events = sa.Table(
    "enquiry_events", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("enquiry_id", sa.Integer, sa.ForeignKey("enquiries.id"), nullable=False, index=True),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("actor", sa.String(64), nullable=False),
    sa.Column("action", sa.String(16), nullable=False),                 # submit | reply | close | reopen | escalate
    sa.Column("text", sa.Text, nullable=True),
    sa.Column("detail", JSON(), nullable=True),
)
