"""The ledger is append-only in the database too: a trigger refuses UPDATE and DELETE of
`ledger_entries` (and TRUNCATE on PostgreSQL), whoever connects. A correction is a new, balanced
transaction (zhida.workflow.ledger.post), never an edit.

Revision ID: 0018_ledger_append_only
Revises: 0017_row_security_money
"""

from __future__ import annotations

from alembic import op

revision = "0018_ledger_append_only"
down_revision = "0017_row_security_money"
branch_labels = None
depends_on = None

MESSAGE = "账簿只能追加：ledger_entries 的分录不能修改或删除；更正请记一笔新的冲正交易。"
FUNCTION = "zhida_ledger_append_only"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""
            CREATE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'restrict_violation';
            END $$""")
        op.execute(f"CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries "
                   f"FOR EACH ROW EXECUTE FUNCTION {FUNCTION}()")
        op.execute(f"CREATE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON ledger_entries "
                   f"FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}()")
        return
    for verb in ("update", "delete"):
        op.execute(f"CREATE TRIGGER ledger_entries_no_{verb} BEFORE {verb.upper()} ON ledger_entries "
                   f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER ledger_entries_no_truncate ON ledger_entries")
        op.execute("DROP TRIGGER ledger_entries_append_only ON ledger_entries")
        op.execute(f"DROP FUNCTION {FUNCTION}()")
        return
    for verb in ("update", "delete"):
        op.execute(f"DROP TRIGGER ledger_entries_no_{verb}")
