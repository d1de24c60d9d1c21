"""Match runs, the policy versions each used, incremental updates and the outbox of match events."""

from __future__ import annotations

import sqlalchemy as sa

from zhida.db.metadata import metadata
from zhida.db.types import JSON, UTCDateTime

match_runs = sa.Table(
    "match_runs", metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),               # full | sandbox
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("finished_at", UTCDateTime, nullable=False),
    sa.Column("as_of", sa.Date, nullable=False),
    sa.Column("policies", JSON(), nullable=False),                  # [[policy id, content hash], ...]
    sa.Column("snapshot", JSON(), nullable=False),                  # store root and batches read
    sa.Column("enterprises", sa.Integer, nullable=False),
    sa.Column("clauses", sa.Integer, nullable=False),
    sa.Column("eligible", sa.Integer, nullable=False),
    sa.Column("unknown", sa.Integer, nullable=False),
    sa.Column("near_miss", sa.Integer, nullable=False),
    sa.Column("near_misses", sa.String(8), nullable=False, server_default="marked"),  # marked | all | none
    sa.Column("excluded", sa.Integer, nullable=False),
    sa.Column("results_sha256", sa.String(64), nullable=False),
    sa.Column("drafts", sa.Boolean, nullable=False, server_default=sa.false()),  # evaluated unpublished files
)

# which published versions a run evaluated (a run of drafts has none)
match_run_versions = sa.Table(
    "match_run_versions", metadata,
    sa.Column("run_id", sa.String(40), sa.ForeignKey("match_runs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("version_id", sa.Integer, sa.ForeignKey("policy_versions.id"), primary_key=True),
)

match_updates = sa.Table(
    "match_updates", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(40), nullable=False, index=True),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("file", sa.Text, nullable=False),                     # delta file, relative to the run dir
    sa.Column("enterprises", JSON(), nullable=True),                # list of USCCs; NULL: every enterprise
    sa.Column("clauses", JSON(), nullable=False),                   # list of clause keys
    sa.Column("pairs", sa.Integer, nullable=False),
    sa.Column("policy_id", sa.String(200), nullable=True),          # a newly published policy version, if any
    sa.Column("policy_version", sa.String(64), nullable=True),
)

# which enterprises each enterprise-scoped update re-matched: an enterprise's current results
# read only the updates that touched it (and those of every enterprise)
match_update_enterprises = sa.Table(
    "match_update_enterprises", metadata,
    sa.Column("uscc", sa.String(18), primary_key=True),
    sa.Column("update_id", sa.Integer, primary_key=True),
)

match_events = sa.Table(
    "match_events", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("update_id", sa.Integer, nullable=False, index=True),
    sa.Column("run_id", sa.String(40), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("uscc", sa.String(18), nullable=False, index=True),
    sa.Column("clause", sa.String(200), nullable=False),
    sa.Column("policy_version", sa.String(64), nullable=True),
    sa.Column("old_status", sa.String(16), nullable=True),
    sa.Column("new_status", sa.String(16), nullable=True),
    sa.Column("old_amount_fen", sa.BigInteger, nullable=True),
    sa.Column("new_amount_fen", sa.BigInteger, nullable=True),
    sa.Column("delivered_at", UTCDateTime, nullable=True),
)
