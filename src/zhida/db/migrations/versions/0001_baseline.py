"""Baseline: the tables as the code of commit f70b948 created them (before migrations existed).

That code declared them in zhida/matching/tables.py and zhida/profiles/datause.py and made them
with `create_all` whenever it opened a database. They are declared again here, frozen, on a
MetaData of their own: `zhida.db.migrate.adopt` creates any of them that an old database lacks
(as that code would have) before stamping it at this revision and upgrading it with its rows.

Constraint names are spelled out (not taken from zhida.db.metadata's convention, which may
change): primary keys `pk_<table>`, indexes `ix_<table>_<column>`.

Revision ID: 0001_baseline
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_baseline"
down_revision = None
branch_labels = None
depends_on = None

LEGACY = sa.MetaData()

sa.Table(
    "match_runs", LEGACY,
    sa.Column("id", sa.String(40), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("as_of", sa.Date, nullable=False),
    sa.Column("policies", sa.Text, nullable=False),             # json.dumps: [[policy id, content hash], ...]
    sa.Column("snapshot", sa.Text, nullable=False),             # json.dumps: store root and batches
    sa.Column("enterprises", sa.Integer, nullable=False),
    sa.Column("clauses", sa.Integer, nullable=False),
    sa.Column("eligible", sa.Integer, nullable=False),
    sa.Column("unknown", sa.Integer, nullable=False),
    sa.Column("near_miss", sa.Integer, nullable=False),
    sa.Column("near_misses", sa.String(8), nullable=False, server_default="marked"),
    sa.Column("excluded", sa.Integer, nullable=False),
    sa.Column("results_sha256", sa.String(64), nullable=False),
    sa.PrimaryKeyConstraint("id", name="pk_match_runs"),
)

sa.Table(
    "match_updates", LEGACY,
    sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
    sa.Column("run_id", sa.String(40), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("file", sa.Text, nullable=False),
    sa.Column("enterprises", sa.Text, nullable=False),          # json.dumps of a list of USCCs, or "*"
    sa.Column("clauses", sa.Text, nullable=False),              # json.dumps of a list of clause keys
    sa.Column("pairs", sa.Integer, nullable=False),
    sa.Column("policy_id", sa.String(200), nullable=True),
    sa.Column("policy_version", sa.String(64), nullable=True),
    sa.PrimaryKeyConstraint("id", name="pk_match_updates"),
    sa.Index("ix_match_updates_run_id", "run_id"),
)

sa.Table(
    "match_update_enterprises", LEGACY,
    sa.Column("uscc", sa.String(18), nullable=False),
    sa.Column("update_id", sa.Integer, autoincrement=False, nullable=False),
    sa.PrimaryKeyConstraint("uscc", "update_id", name="pk_match_update_enterprises"),
)

sa.Table(
    "match_events", LEGACY,
    sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("update_id", sa.Integer, nullable=False),
    sa.Column("run_id", sa.String(40), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("uscc", sa.String(18), nullable=False),
    sa.Column("clause", sa.String(200), nullable=False),
    sa.Column("policy_version", sa.String(64), nullable=True),
    sa.Column("old_status", sa.String(16), nullable=True),
    sa.Column("new_status", sa.String(16), nullable=True),
    sa.Column("old_amount_fen", sa.BigInteger, nullable=True),
    sa.Column("new_amount_fen", sa.BigInteger, nullable=True),
    sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint("id", name="pk_match_events"),
    sa.Index("ix_match_events_uscc", "uscc"),
    sa.Index("ix_match_events_update_id", "update_id"),
)

sa.Table(
    "data_use", LEGACY,
    sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
    sa.Column("used_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("scope", sa.String(16), nullable=False),
    sa.Column("uscc", sa.String(18), nullable=True),
    sa.Column("fields", sa.Text, nullable=False),               # json.dumps of a sorted list of field names
    sa.Column("purpose", sa.String(200), nullable=False),
    sa.Column("actor", sa.String(100), nullable=False),
    sa.Column("legal_basis", sa.String(300), nullable=True),
    sa.Column("consent_ref", sa.String(100), nullable=True),
    sa.Column("as_of", sa.Date, nullable=True),
    sa.Column("enterprises", sa.Integer, nullable=False),
    sa.PrimaryKeyConstraint("id", name="pk_data_use"),
    sa.Index("ix_data_use_uscc", "uscc"),
)


def upgrade() -> None:
    LEGACY.create_all(op.get_bind(), checkfirst=False)


def downgrade() -> None:
    LEGACY.drop_all(op.get_bind(), checkfirst=False)
