"""Row-level security on the rest of the money flow and on what is recorded about firms: payments,
payment batches and their items, 公示 notices with their offers and objections, reminders,
notifications and data-use records. A transaction narrowed by zhida.db.scope.restrict sees a
row when the offer it belongs to is in scope (the 0012 policy applies inside the EXISTS);
notifications and data uses of a firm are seen by the firm, by oversight, and by a department
that handles the firm. SQLite has no row security: this revision does nothing there.

Revision ID: 0017_row_security_money
Revises: 0016_enquiries
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017_row_security_money"
down_revision = "0016_enquiries"
branch_labels = None
depends_on = None

ROLE = "zhida_scoped"
EVERYTHING = "current_setting('zhida.everything', true) = 'on'"
OWN_FIRM = "uscc = nullif(current_setting('zhida.uscc', true), '')"
OFFER_VISIBLE = "EXISTS (SELECT 1 FROM offers o WHERE o.id = {table}.offer_id)"

# read and write: the row follows the offer it belongs to
SCOPED = {
    "payments": OFFER_VISIBLE.format(table="payments"),
    "payment_batch_items": "EXISTS (SELECT 1 FROM payments p WHERE p.id = payment_batch_items.payment_id)",
    # a department sees a batch holding a payment of its offers; a firm sees none (batch totals)
    "payment_batches": (f"{EVERYTHING} OR (nullif(current_setting('zhida.department', true), '') IS NOT NULL "
                        "AND EXISTS (SELECT 1 FROM payment_batch_items i JOIN payments p ON p.id = i.payment_id "
                        "WHERE i.batch_id = payment_batches.id))"),
    "notices": (f"{EVERYTHING} OR department = nullif(current_setting('zhida.department', true), '')"),
    "notice_offers": OFFER_VISIBLE.format(table="notice_offers"),
    "notice_objections": OFFER_VISIBLE.format(table="notice_objections"),
    "offer_reminders": OFFER_VISIBLE.format(table="offer_reminders"),
}
# read and update: the firm's own, oversight, and a department's for the firms it handles (an
# offer, application or 诉求 of the firm in its scope; those tables' policies apply inside the
# EXISTS). Insert is open: a narrowed transaction writes them as side effects (a decision
# notifies the firm, a reviewer's view of a profile records a use); an INSERT … RETURNING still
# needs the new row to be readable, which it is for the firms the department handles.
HANDLED = ("EXISTS (SELECT 1 FROM offers o WHERE o.uscc = {table}.uscc) "
           "OR EXISTS (SELECT 1 FROM applications a WHERE a.uscc = {table}.uscc) "
           "OR EXISTS (SELECT 1 FROM enquiries e WHERE e.uscc = {table}.uscc)")
APPENDED = {
    "notifications": f"{EVERYTHING} OR {OWN_FIRM} OR {HANDLED.format(table='notifications')}",
    "data_use": f"{EVERYTHING} OR {OWN_FIRM} OR {HANDLED.format(table='data_use')}",
}


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    schema = bind.execute(sa.text("SELECT current_schema()")).scalar_one()
    op.execute(f'GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA "{schema}" TO {ROLE}')
    op.execute(f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA "{schema}" TO {ROLE}')
    for table, condition in SCOPED.items():
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY scope ON {table} USING ({condition}) WITH CHECK ({condition})")
    for table, condition in APPENDED.items():
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY scope_read ON {table} FOR SELECT USING ({condition})")
        op.execute(f"CREATE POLICY scope_update ON {table} FOR UPDATE USING ({condition}) WITH CHECK ({condition})")
        op.execute(f"CREATE POLICY scope_append ON {table} FOR INSERT WITH CHECK (true)")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    for table in APPENDED:
        for name in ("scope_read", "scope_update", "scope_append"):
            op.execute(f"DROP POLICY {name} ON {table}")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
    for table in SCOPED:
        op.execute(f"DROP POLICY scope ON {table}")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
