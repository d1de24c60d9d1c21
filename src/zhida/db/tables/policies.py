"""Published policy versions: the stored documents that runs, offers and payments point at."""

from __future__ import annotations

import sqlalchemy as sa

from zhida.db.metadata import metadata
from zhida.db.types import JSON, UTCDateTime

policy_versions = sa.Table(
    "policy_versions", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("policy_id", sa.String(200), nullable=False),
    sa.Column("content_hash", sa.String(64), nullable=False),      # SHA-256 of the canonical document
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("document", JSON(), nullable=False),                  # the policy as published (YAML → JSON)
    sa.Column("source_file", sa.Text, nullable=True),               # where it was published from
    sa.Column("valid_from", sa.Date, nullable=True),
    sa.Column("valid_to", sa.Date, nullable=True),
    sa.Column("published_at", UTCDateTime, nullable=False),
    sa.Column("published_by", sa.String(100), nullable=False),
    sa.Column("retired_at", UTCDateTime, nullable=True),
    sa.Column("retired_by", sa.String(100), nullable=True),
    sa.UniqueConstraint("policy_id", "content_hash"),
)

# at most one version of a policy is in force (not retired) at a time, even under concurrent publishing
sa.Index("uq_policy_versions_current", policy_versions.c.policy_id, unique=True,
         sqlite_where=policy_versions.c.retired_at.is_(None),
         postgresql_where=policy_versions.c.retired_at.is_(None))
