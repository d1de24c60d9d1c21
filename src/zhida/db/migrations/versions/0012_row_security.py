"""Row-level security on PostgreSQL: a transaction narrowed by zhida.db.scope.restrict sees only
its department's or its firm's offers and their events.

The role `zhida_scoped` (cluster-wide, made once) holds the table privileges of this schema;
the policies compare a row's department / firm with the transaction's settings. Owners and
superusers bypass row security, so nothing changes for code that does not restrict itself.
SQLite has no row security: this revision does nothing there.

Revision ID: 0012_row_security
Revises: 0011_sessions
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_row_security"
down_revision = "0011_sessions"
branch_labels = None
depends_on = None

ROLE = "zhida_scoped"
IN_SCOPE = ("current_setting('zhida.everything', true) = 'on' "
            "OR {department} = nullif(current_setting('zhida.department', true), '') "
            "OR {uscc} = nullif(current_setting('zhida.uscc', true), '')")
POLICIES = {
    "offers": IN_SCOPE.format(department="department", uscc="uscc"),
    "offer_events": "EXISTS (SELECT 1 FROM offers o WHERE o.id = offer_id)",   # offers' own policy applies
}


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    schema = bind.execute(sa.text("SELECT current_schema()")).scalar_one()
    op.execute(f"DO $$ BEGIN CREATE ROLE {ROLE} NOLOGIN; "
               "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$")
    op.execute(f'GRANT USAGE ON SCHEMA "{schema}" TO {ROLE}')
    op.execute(f'GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA "{schema}" TO {ROLE}')
    op.execute(f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA "{schema}" TO {ROLE}')
    op.execute(f'ALTER DEFAULT PRIVILEGES IN SCHEMA "{schema}" GRANT SELECT, INSERT, UPDATE ON TABLES TO {ROLE}')
    op.execute(f'ALTER DEFAULT PRIVILEGES IN SCHEMA "{schema}" GRANT USAGE, SELECT ON SEQUENCES TO {ROLE}')
    for table, condition in POLICIES.items():
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY scope ON {table} USING ({condition}) WITH CHECK ({condition})")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    schema = bind.execute(sa.text("SELECT current_schema()")).scalar_one()
    for table in POLICIES:
        op.execute(f"DROP POLICY scope ON {table}")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
    op.execute(f'ALTER DEFAULT PRIVILEGES IN SCHEMA "{schema}" REVOKE USAGE, SELECT ON SEQUENCES FROM {ROLE}')
    op.execute(f'ALTER DEFAULT PRIVILEGES IN SCHEMA "{schema}" REVOKE SELECT, INSERT, UPDATE ON TABLES FROM {ROLE}')
    op.execute(f'REVOKE ALL ON ALL SEQUENCES IN SCHEMA "{schema}" FROM {ROLE}')
    op.execute(f'REVOKE ALL ON ALL TABLES IN SCHEMA "{schema}" FROM {ROLE}')
    op.execute(f'REVOKE USAGE ON SCHEMA "{schema}" FROM {ROLE}')
