"""The durable job table, 总量控制 caps and 预先拨付 advances (zhida.workflow)."""

from __future__ import annotations

import sqlalchemy as sa

from zhida.db.metadata import metadata
from zhida.db.types import JSON, UTCDateTime

# long or scheduled work (zhida.workflow.jobs): a worker claims a due job with a lease; a worker
# that dies leaves `running` with a lapsed `locked_until`, and another worker takes the job over
jobs = sa.Table(
    "jobs", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(64), nullable=False),               # e.g. offers.remind
    sa.Column("payload", JSON(), nullable=False),
    sa.Column("actor", sa.String(64), nullable=False),              # the job runs as this account
    sa.Column("dedupe_key", sa.String(200), nullable=True, unique=True),  # the same job twice: once
    sa.Column("state", sa.String(16), nullable=False),              # queued | running | done | failed
    sa.Column("run_at", UTCDateTime, nullable=False),               # not before
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("max_attempts", sa.Integer, nullable=False),
    sa.Column("locked_by", sa.String(64), nullable=True),           # the worker holding the lease
    sa.Column("locked_until", UTCDateTime, nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("result", JSON(), nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("finished_at", UTCDateTime, nullable=True),
    sa.CheckConstraint("attempts >= 0 AND max_attempts >= 1", name="attempts_counted"),
)
sa.Index("ix_jobs_state_run_at", jobs.c.state, jobs.c.run_at)

# 总量控制: what a firm receives in a year across the cap's policies stays within `cap_fen`;
# `exclusive`: 就高不重复 — of the cap's policies the firm receives only the highest award
caps = sa.Table(
    "caps", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("year", sa.Integer, nullable=False),
    sa.Column("cap_fen", sa.BigInteger, nullable=True),             # NULL: exclusive only, no fixed sum
    sa.Column("exclusive", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_by", sa.String(64), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("name", "year"),
    sa.CheckConstraint("cap_fen IS NULL OR cap_fen > 0", name="positive"),
)

cap_policies = sa.Table(
    "cap_policies", metadata,
    sa.Column("cap_id", sa.Integer, sa.ForeignKey("caps.id"), primary_key=True),
    sa.Column("policy_id", sa.String(200), primary_key=True, index=True),
)

# one row per cap and firm: the concurrency guard, changed by conditional updates under its row lock
cap_usage = sa.Table(
    "cap_usage", metadata,
    sa.Column("cap_id", sa.Integer, sa.ForeignKey("caps.id"), primary_key=True),
    sa.Column("uscc", sa.String(18), primary_key=True),
    sa.Column("used_fen", sa.BigInteger, nullable=False, server_default="0"),
    sa.CheckConstraint("used_fen >= 0", name="not_negative"),
)
