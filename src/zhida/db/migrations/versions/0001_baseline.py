"""Baseline: the tables as the code of commit f70b948 created them (before migrations existed).

Databases made by that code are adopted at this revision (zhida.db.migrate) and upgraded
from here, keeping their rows.

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


def upgrade() -> None:
    op.create_table(
        "match_runs",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("as_of", sa.Date, nullable=False),
        sa.Column("policies", sa.Text, nullable=False),
        sa.Column("snapshot", sa.Text, nullable=False),
        sa.Column("enterprises", sa.Integer, nullable=False),
        sa.Column("clauses", sa.Integer, nullable=False),
        sa.Column("eligible", sa.Integer, nullable=False),
        sa.Column("unknown", sa.Integer, nullable=False),
        sa.Column("near_miss", sa.Integer, nullable=False),
        sa.Column("near_misses", sa.String(8), nullable=False, server_default="marked"),
        sa.Column("excluded", sa.Integer, nullable=False),
        sa.Column("results_sha256", sa.String(64), nullable=False),
    )
    op.create_table(
        "match_updates",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(40), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("file", sa.Text, nullable=False),
        sa.Column("enterprises", sa.Text, nullable=False),
        sa.Column("clauses", sa.Text, nullable=False),
        sa.Column("pairs", sa.Integer, nullable=False),
        sa.Column("policy_id", sa.String(200), nullable=True),
        sa.Column("policy_version", sa.String(64), nullable=True),
    )
    op.create_index("ix_match_updates_run_id", "match_updates", ["run_id"])
    op.create_table(
        "match_update_enterprises",
        sa.Column("uscc", sa.String(18), primary_key=True),
        sa.Column("update_id", sa.Integer, primary_key=True),
    )
    op.create_table(
        "match_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
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
    )
    op.create_index("ix_match_events_uscc", "match_events", ["uscc"])
    op.create_index("ix_match_events_update_id", "match_events", ["update_id"])
    op.create_table(
        "data_use",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("uscc", sa.String(18), nullable=True),
        sa.Column("fields", sa.Text, nullable=False),
        sa.Column("purpose", sa.String(200), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("legal_basis", sa.String(300), nullable=True),
        sa.Column("consent_ref", sa.String(100), nullable=True),
        sa.Column("as_of", sa.Date, nullable=True),
        sa.Column("enterprises", sa.Integer, nullable=False),
    )
    op.create_index("ix_data_use_uscc", "data_use", ["uscc"])


def downgrade() -> None:
    for table in ("data_use", "match_events", "match_update_enterprises", "match_updates", "match_runs"):
        op.drop_table(table)
