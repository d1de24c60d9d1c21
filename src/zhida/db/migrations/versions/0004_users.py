"""Departments, users and their roles (zhida.accounts).

Revision ID: 0004_users
Revises: 0003_policy_versions
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from zhida.db.types import UTCDateTime

revision = "0004_users"
down_revision = "0003_policy_versions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "departments",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_departments"),
        sa.UniqueConstraint("code", name="uq_departments_code"),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("display_name", sa.String(100), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=True),
        sa.Column("oidc_subject", sa.String(200), nullable=True),
        sa.Column("uscc", sa.String(18), nullable=True),
        sa.Column("department_id", sa.Integer, nullable=True),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("username", name="uq_users_username"),
        sa.UniqueConstraint("oidc_subject", name="uq_users_oidc_subject"),
        sa.ForeignKeyConstraint(["department_id"], ["departments.id"], name="fk_users_department_id_departments"),
    )
    op.create_index("ix_users_uscc", "users", ["uscc"])
    op.create_table(
        "user_roles",
        sa.Column("user_id", sa.Integer, nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("granted_at", UTCDateTime, nullable=False),
        sa.Column("granted_by", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "role", name="pk_user_roles"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE", name="fk_user_roles_user_id_users"),
    )


def downgrade() -> None:
    op.drop_table("user_roles")
    op.drop_index("ix_users_uscc", table_name="users")
    op.drop_table("users")
    op.drop_table("departments")
