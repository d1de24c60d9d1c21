"""Data-use records (数据使用记录): who used which fields of which enterprise, why, on what basis."""

from __future__ import annotations

import sqlalchemy as sa

from zhida.db.metadata import metadata
from zhida.db.types import JSON, UTCDateTime

data_use = sa.Table(
    "data_use", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("used_at", UTCDateTime, nullable=False),
    sa.Column("scope", sa.String(16), nullable=False),              # enterprise | population
    sa.Column("uscc", sa.String(18), nullable=True, index=True),
    sa.Column("fields", JSON(), nullable=False),                    # sorted list of field names
    sa.Column("purpose", sa.String(200), nullable=False),
    sa.Column("actor", sa.String(100), nullable=False),
    sa.Column("legal_basis", sa.String(300), nullable=True),
    sa.Column("consent_ref", sa.String(100), nullable=True),
    sa.Column("as_of", sa.Date, nullable=True),
    sa.Column("enterprises", sa.Integer, nullable=False),
)
