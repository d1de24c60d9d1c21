"""诉求: a firm's requests and questions (`enquiries`) and their events, routed to a department
with a time limit; on PostgreSQL the row security of 0012_row_security (department or firm).

Revision ID: 0016_enquiries
Revises: 0015_advance_payments
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from zhida.db.types import UTCDateTime

revision = "0016_enquiries"
down_revision = "0015_advance_payments"
branch_labels = None
depends_on = None

ROLE = "zhida_scoped"
POLICIES = {
    "enquiries": ("current_setting('zhida.everything', true) = 'on' "
                  "OR department = nullif(current_setting('zhida.department', true), '') "
                  "OR uscc = nullif(current_setting('zhida.uscc', true), '')"),
    "enquiry_events": "EXISTS (SELECT 1 FROM enquiries e WHERE e.id = enquiry_id)",
}


def upgrade() -> None:
    op.create_table(
        "enquiries",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("uscc", sa.String(18), nullable=False),
        sa.Column("department", sa.String(32), nullable=False),
        sa.Column("topic", sa.String(32), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("due_by", UTCDateTime, nullable=False),
        sa.Column("escalations", sa.Integer, server_default="0", nullable=False),
        sa.Column("rating", sa.Integer, nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.CheckConstraint("rating IS NULL OR (rating >= 1 AND rating <= 5)", name="ck_enquiries_rating_1_to_5"),
        sa.PrimaryKeyConstraint("id", name="pk_enquiries"),
    )
    for column in ("department", "state", "uscc"):
        op.create_index(f"ix_enquiries_{column}", "enquiries", [column])
    op.create_table(
        "enquiry_events",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("enquiry_id", sa.Integer, nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("text", sa.Text, nullable=True),
        sa.Column("detail", sa.JSON(none_as_null=True), nullable=True),
        sa.ForeignKeyConstraint(["enquiry_id"], ["enquiries.id"], name="fk_enquiry_events_enquiry_id_enquiries"),
        sa.PrimaryKeyConstraint("id", name="pk_enquiry_events"),
    )
    op.create_index("ix_enquiry_events_enquiry_id", "enquiry_events", ["enquiry_id"])
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        schema = bind.execute(sa.text("SELECT current_schema()")).scalar_one()
        op.execute(f'GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA "{schema}" TO {ROLE}')
        op.execute(f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA "{schema}" TO {ROLE}')
        for table, condition in POLICIES.items():
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            op.execute(f"CREATE POLICY scope ON {table} USING ({condition}) WITH CHECK ({condition})")


def downgrade() -> None:
    op.drop_index("ix_enquiry_events_enquiry_id", table_name="enquiry_events")
    op.drop_table("enquiry_events")
    for column in ("department", "state", "uscc"):
        op.drop_index(f"ix_enquiries_{column}", table_name="enquiries")
    op.drop_table("enquiries")
