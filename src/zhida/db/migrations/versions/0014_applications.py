"""即申即办 / 申报审批 applications with their events, and the 材料银行 (materials, attached to
applications). An approved application's award is an offer without a match run, so
`offers.run_id` becomes nullable. On PostgreSQL the new tables get the row-level security of
0012_row_security: a scoped transaction sees its department's or its firm's rows only.

Revision ID: 0014_applications
Revises: 0013_sealed_accounts
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from zhida.db.types import UTCDateTime

revision = "0014_applications"
down_revision = "0013_sealed_accounts"
branch_labels = None
depends_on = None

ROLE = "zhida_scoped"
IN_SCOPE = ("current_setting('zhida.everything', true) = 'on' "
            "OR {department} = nullif(current_setting('zhida.department', true), '') "
            "OR uscc = nullif(current_setting('zhida.uscc', true), '')")
POLICIES = {
    "applications": IN_SCOPE.format(department="department"),
    "application_events": "EXISTS (SELECT 1 FROM applications a WHERE a.id = application_id)",
    "materials": IN_SCOPE.format(department="NULL"),   # a firm's own; reviewers read them through applications
}


def upgrade() -> None:
    op.create_table(
        "materials",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("uscc", sa.String(18), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("file_name", sa.String(255), nullable=False),
        sa.Column("content_type", sa.String(100), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("uploaded_at", UTCDateTime, nullable=False),
        sa.Column("uploaded_by", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_materials"),
        sa.UniqueConstraint("uscc", "sha256", name="uq_materials_uscc_sha256"),
    )
    op.create_index("ix_materials_uscc", "materials", ["uscc"])
    op.create_table(
        "applications",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("clause", sa.String(200), nullable=False),
        sa.Column("policy_id", sa.String(200), nullable=False),
        sa.Column("version_id", sa.Integer, nullable=False),
        sa.Column("uscc", sa.String(18), nullable=False),
        sa.Column("period", sa.String(16), nullable=False),
        sa.Column("department", sa.String(32), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("as_of", sa.Date, nullable=False),
        sa.Column("declared", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("amount_fen", sa.BigInteger, nullable=True),
        sa.Column("due_by", UTCDateTime, nullable=True),
        sa.Column("account_name", sa.String(200), nullable=True),
        sa.Column("account_bank", sa.String(200), nullable=True),
        sa.Column("account_no", sa.String(200), nullable=True),
        sa.Column("offer_id", sa.Integer, nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.ForeignKeyConstraint(["offer_id"], ["offers.id"], name="fk_applications_offer_id_offers"),
        sa.ForeignKeyConstraint(["version_id"], ["policy_versions.id"],
                                name="fk_applications_version_id_policy_versions"),
        sa.PrimaryKeyConstraint("id", name="pk_applications"),
        sa.UniqueConstraint("clause", "uscc", "period", name="uq_applications_clause_uscc_period"),
        sa.UniqueConstraint("offer_id", name="uq_applications_offer_id"),
    )
    op.create_index("ix_applications_state", "applications", ["state"])
    op.create_index("ix_applications_uscc", "applications", ["uscc"])
    op.create_table(
        "application_events",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("application_id", sa.Integer, nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("from_state", sa.String(32), nullable=True),
        sa.Column("to_state", sa.String(32), nullable=False),
        sa.Column("policy_version", sa.String(64), nullable=False),
        sa.Column("detail", sa.JSON(none_as_null=True), nullable=True),
        sa.ForeignKeyConstraint(["application_id"], ["applications.id"],
                                name="fk_application_events_application_id_applications"),
        sa.PrimaryKeyConstraint("id", name="pk_application_events"),
    )
    op.create_index("ix_application_events_application_id", "application_events", ["application_id"])
    op.create_table(
        "application_materials",
        sa.Column("application_id", sa.Integer, nullable=False),
        sa.Column("material_id", sa.Integer, nullable=False),
        sa.ForeignKeyConstraint(["application_id"], ["applications.id"],
                                name="fk_application_materials_application_id_applications"),
        sa.ForeignKeyConstraint(["material_id"], ["materials.id"],
                                name="fk_application_materials_material_id_materials"),
        sa.PrimaryKeyConstraint("application_id", "material_id", name="pk_application_materials"),
    )
    with op.batch_alter_table("offers") as batch:
        batch.alter_column("run_id", existing_type=sa.String(40), nullable=True)
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        schema = bind.execute(sa.text("SELECT current_schema()")).scalar_one()
        op.execute(f'GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA "{schema}" TO {ROLE}')
        op.execute(f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA "{schema}" TO {ROLE}')
        for table, condition in POLICIES.items():
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            op.execute(f"CREATE POLICY scope ON {table} USING ({condition}) WITH CHECK ({condition})")


def downgrade() -> None:
    bind = op.get_bind()
    awarded = bind.execute(sa.text("SELECT count(*) FROM offers WHERE run_id IS NULL")).scalar_one()
    if awarded:
        raise RuntimeError(f"{awarded} offers were awarded on applications (no match run); a database at "
                           "0013_sealed_accounts cannot hold them. Export them first, or stay at 0014.")
    with op.batch_alter_table("offers") as batch:
        batch.alter_column("run_id", existing_type=sa.String(40), nullable=False)
    op.drop_table("application_materials")
    op.drop_index("ix_application_events_application_id", table_name="application_events")
    op.drop_table("application_events")
    op.drop_index("ix_applications_uscc", table_name="applications")
    op.drop_index("ix_applications_state", table_name="applications")
    op.drop_table("applications")
    op.drop_index("ix_materials_uscc", table_name="materials")
    op.drop_table("materials")
