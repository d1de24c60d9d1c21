"""Published policy versions, and which of them each match run evaluated (decision 0010).

Revision ID: 0003_policy_versions
Revises: 0002_json_columns
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from zhida.db.types import UTCDateTime

revision = "0003_policy_versions"
down_revision = "0002_json_columns"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "policy_versions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("policy_id", sa.String(200), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("document", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("source_file", sa.Text, nullable=True),
        sa.Column("valid_from", sa.Date, nullable=True),
        sa.Column("valid_to", sa.Date, nullable=True),
        sa.Column("published_at", UTCDateTime, nullable=False),
        sa.Column("published_by", sa.String(100), nullable=False),
        sa.Column("retired_at", UTCDateTime, nullable=True),
        sa.Column("retired_by", sa.String(100), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_policy_versions"),
        sa.UniqueConstraint("policy_id", "content_hash", name="uq_policy_versions_policy_id_content_hash"),
    )
    op.create_index("uq_policy_versions_current", "policy_versions", ["policy_id"], unique=True,
                    sqlite_where=sa.text("retired_at IS NULL"), postgresql_where=sa.text("retired_at IS NULL"))
    op.create_table(
        "match_run_versions",
        sa.Column("run_id", sa.String(40), nullable=False),
        sa.Column("version_id", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("run_id", "version_id", name="pk_match_run_versions"),
        sa.ForeignKeyConstraint(["run_id"], ["match_runs.id"], ondelete="CASCADE",
                                name="fk_match_run_versions_run_id_match_runs"),
        sa.ForeignKeyConstraint(["version_id"], ["policy_versions.id"],
                                name="fk_match_run_versions_version_id_policy_versions"),
    )


def downgrade() -> None:
    op.drop_table("match_run_versions")
    op.drop_index("uq_policy_versions_current", table_name="policy_versions")
    op.drop_table("policy_versions")
