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

# every login attempt, for throttling and for the security audit (等保: 登录失败处理)
login_attempts = sa.Table(
    "login_attempts", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("username", sa.String(64), nullable=False, index=True),
    sa.Column("source", sa.String(64), nullable=False, index=True),    # client address
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("ok", sa.Boolean, nullable=False),
    sa.Column("reason", sa.String(32), nullable=True),                 # wrong | inactive | throttled
)

# a logged-in browser: the token is given to the client once and kept here only as its hash
sessions = sa.Table(
    "sessions", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),  # sha256 hex of the token
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("csrf", sa.String(64), nullable=False),                      # the forms' anti-forgery token
    sa.Column("source", sa.String(64), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("last_seen", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),                  # absolute limit
    sa.Column("revoked_at", UTCDateTime, nullable=True),
)
