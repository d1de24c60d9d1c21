"""Users, their roles and departments (who may do what is decided in zhida.accounts)."""

from __future__ import annotations

import sqlalchemy as sa

from zhida.db.metadata import metadata
from zhida.db.types import UTCDateTime

departments = sa.Table(
    "departments", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("code", sa.String(32), nullable=False, unique=True),  # e.g. "hrss" (人社局)
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

users = sa.Table(
    "users", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("username", sa.String(64), nullable=False, unique=True),
    sa.Column("display_name", sa.String(100), nullable=False),
    sa.Column("password_hash", sa.String(200), nullable=True),      # argon2id; NULL: no local password
    sa.Column("oidc_subject", sa.String(200), nullable=True, unique=True),  # 统一身份认证 subject, later
    sa.Column("uscc", sa.String(18), nullable=True, index=True),    # the one enterprise an enterprise user acts for
    sa.Column("department_id", sa.Integer, sa.ForeignKey("departments.id"), nullable=True),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("created_by", sa.String(64), nullable=False),
)

user_roles = sa.Table(
    "user_roles", metadata,
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("role", sa.String(32), primary_key=True),              # zhida.accounts.Role
    sa.Column("granted_at", UTCDateTime, nullable=False),
    sa.Column("granted_by", sa.String(64), nullable=False),
)
