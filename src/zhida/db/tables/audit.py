"""The audit log (zhida.audit): an append-only Merkle log of decisions, data use and payments,
its head and its signed checkpoints."""

from __future__ import annotations

import sqlalchemy as sa

from zhida.db.metadata import metadata
from zhida.db.types import UTCDateTime

# one row: the log's size and hash algorithm; appenders lock it, so indexes are dense and ordered
audit_head = sa.Table(
    "audit_head", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("hash_alg", sa.String(16), nullable=False),          # sha256 | sm3
    sa.CheckConstraint("id = 1", name="single_row"),
)

audit_log = sa.Table(
    "audit_log", metadata,
    sa.Column("idx", sa.BigInteger, primary_key=True, autoincrement=False),  # leaf index, from 0
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("actor", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(64), nullable=False, index=True),  # e.g. offer.approve, payment.settle
    sa.Column("subject", sa.String(200), nullable=False, index=True),  # e.g. offer:12, enterprise:<USCC>
    sa.Column("entry", sa.Text, nullable=False),                   # the canonical JSON that is hashed
    sa.Column("leaf_hash", sa.String(64), nullable=False),         # hex of H(0x00 ‖ entry)
)

audit_checkpoints = sa.Table(
    "audit_checkpoints", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("root", sa.String(64), nullable=False),              # hex
    sa.Column("note", sa.Text, nullable=False),                    # the signed note, cosignatures appended
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("created_by", sa.String(64), nullable=False),
)
