"""The durable job table, 总量控制 caps and 预先拨付 advances (zhida.workflow).

Revision ID: 0008_jobs_caps
Revises: 0006_disbursement
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from zhida.db.types import JSON, UTCDateTime

revision = "0008_jobs_caps"
down_revision = "0006_disbursement"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer, autoincrement=True),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("payload", JSON(), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("dedupe_key", sa.String(200), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("run_at", UTCDateTime, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("max_attempts", sa.Integer, nullable=False),
        sa.Column("locked_by", sa.String(64), nullable=True),
        sa.Column("locked_until", UTCDateTime, nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("result", JSON(), nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("finished_at", UTCDateTime, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_jobs"),
        sa.UniqueConstraint("dedupe_key", name="uq_jobs_dedupe_key"),
        sa.CheckConstraint("attempts >= 0 AND max_attempts >= 1", name="ck_jobs_attempts_counted"),
    )
    op.create_index("ix_jobs_state_run_at", "jobs", ["state", "run_at"])
    op.create_table(
        "caps",
        sa.Column("id", sa.Integer, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("cap_fen", sa.BigInteger, nullable=True),
        sa.Column("exclusive", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_caps"),
        sa.UniqueConstraint("name", "year", name="uq_caps_name_year"),
        sa.CheckConstraint("cap_fen IS NULL OR cap_fen > 0", name="ck_caps_positive"),
    )
    op.create_table(
        "cap_policies",
        sa.Column("cap_id", sa.Integer, nullable=False),
        sa.Column("policy_id", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("cap_id", "policy_id", name="pk_cap_policies"),
        sa.ForeignKeyConstraint(["cap_id"], ["caps.id"], name="fk_cap_policies_cap_id_caps"),
    )
    op.create_index("ix_cap_policies_policy_id", "cap_policies", ["policy_id"])
    op.create_table(
        "cap_usage",
        sa.Column("cap_id", sa.Integer, nullable=False),
        sa.Column("uscc", sa.String(18), nullable=False),
        sa.Column("used_fen", sa.BigInteger, nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("cap_id", "uscc", name="pk_cap_usage"),
        sa.ForeignKeyConstraint(["cap_id"], ["caps.id"], name="fk_cap_usage_cap_id_caps"),
        sa.CheckConstraint("used_fen >= 0", name="ck_cap_usage_not_negative"),
    )


def downgrade() -> None:
    op.drop_table("cap_usage")
    op.drop_index("ix_cap_policies_policy_id", table_name="cap_policies")
    op.drop_table("cap_policies")
    op.drop_table("caps")
    op.drop_index("ix_jobs_state_run_at", table_name="jobs")
    op.drop_table("jobs")
