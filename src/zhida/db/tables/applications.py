"""即申即办 / 申报审批 applications, their events, and the 材料银行 (zhida.workflow.applications)."""

from __future__ import annotations

import sqlalchemy as sa

from zhida.db.metadata import metadata
from zhida.db.types import JSON, UTCDateTime

# one application per firm, clause and period (a rejected one is resubmitted, keeping its events)
applications = sa.Table(
    "applications", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("clause", sa.String(200), nullable=False),
    sa.Column("policy_id", sa.String(200), nullable=False),
    sa.Column("version_id", sa.Integer, sa.ForeignKey("policy_versions.id"), nullable=False),
    sa.Column("uscc", sa.String(18), nullable=False, index=True),
    sa.Column("period", sa.String(16), nullable=False),
    sa.Column("department", sa.String(32), nullable=False),          # the reviewing department's code
    sa.Column("mode", sa.String(16), nullable=False),                # instant | reviewed
    sa.Column("state", sa.String(32), nullable=False, index=True),   # zhida.workflow.states.ApplicationState
    sa.Column("as_of", sa.Date, nullable=False),                     # the date its facts are evaluated on
    sa.Column("declared", JSON(), nullable=False),                   # {frame column: text}, self-declared
    sa.Column("amount_fen", sa.BigInteger, nullable=True),           # as evaluated at submission
    sa.Column("due_by", UTCDateTime, nullable=True),                 # the review's time limit (SLA)
    sa.Column("account_name", sa.String(200), nullable=True),
    sa.Column("account_bank", sa.String(200), nullable=True),
    sa.Column("account_no", sa.String(200), nullable=True),          # sealed at rest (zhida.sealing)
    sa.Column("offer_id", sa.Integer, sa.ForeignKey("offers.id"), nullable=True, unique=True),  # the award
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("clause", "uscc", "period"),
)

application_events = sa.Table(
    "application_events", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("application_id", sa.Integer, sa.ForeignKey("applications.id"), nullable=False, index=True),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("actor", sa.String(64), nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("from_state", sa.String(32), nullable=True),           # NULL: the application was started
    sa.Column("to_state", sa.String(32), nullable=False),
    sa.Column("policy_version", sa.String(64), nullable=False),
    sa.Column("detail", JSON(), nullable=True),                      # reason, the facts decided on, …
)

# 材料银行: a firm's files, uploaded once and attached to any number of applications
materials = sa.Table(
    "materials", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("uscc", sa.String(18), nullable=False, index=True),
    sa.Column("kind", sa.String(32), nullable=False),                # zhida.workflow.materials.KINDS
    sa.Column("file_name", sa.String(255), nullable=False),
    sa.Column("content_type", sa.String(100), nullable=False),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),              # the stored file's name
    sa.Column("uploaded_at", UTCDateTime, nullable=False),
    sa.Column("uploaded_by", sa.String(64), nullable=False),
    sa.UniqueConstraint("uscc", "sha256"),
)

application_materials = sa.Table(
    "application_materials", metadata,
    sa.Column("application_id", sa.Integer, sa.ForeignKey("applications.id"), primary_key=True),
    sa.Column("material_id", sa.Integer, sa.ForeignKey("materials.id"), primary_key=True),
)
